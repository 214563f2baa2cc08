/*
 * image_manifest_json: the JSON helpers of the manifest reader (see
 * image_manifest_internal.h) and image configs (image_config_parse).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/image_manifest_internal.h"
#include "core/xalloc.h"

json_t *mjson_load_object(const char *text, size_t len, const char *what, struct err **err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	if (!root) {
		err_set(err, 0, "%s: not valid JSON (line %d, column %d: %s)", what, je.line,
			je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, 0, "%s: expected a JSON object at the top", what);
		return NULL;
	}
	return root;
}

/* An optional string member: *out is NULL when the member is absent or null. */
int mjson_opt_string(const json_t *obj, const char *key, const char *field, const char *what,
		     const char **out, struct err **err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(err, 0, "%s: field `%s` is not a string", what, field);
	*out = json_string_value(v);
	return 0;
}

/* An optional object or array member (want_object selects which). */
int mjson_opt_container(const json_t *obj, const char *key, bool want_object, const char *field,
			const char *what, json_t **out, struct err **err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (want_object ? !json_is_object(v) : !json_is_array(v))
		return err_set(err, 0, "%s: field `%s` is not %s", what, field,
			       want_object ? "an object" : "an array");
	*out = v;
	return 0;
}

/* A required member of the given kind. */
int mjson_req_container(const json_t *obj, const char *key, bool want_object, const char *field,
			const char *what, json_t **out, struct err **err)
{
	if (mjson_opt_container(obj, key, want_object, field, what, out, err) < 0)
		return -1;
	if (!*out)
		return err_set(err, 0, "%s: field `%s` is missing", what, field);
	return 0;
}

/* The "digest" member of a descriptor; prefix names the descriptor
 * ("config", "layers[2]"). */
int mjson_descriptor_digest(const json_t *desc, const char *prefix, const char *what,
			    char **out, struct err **err)
{
	char field[FIELD_MAX];
	snprintf(field, sizeof(field), "%s.digest", prefix);
	const char *d;
	if (mjson_opt_string(desc, "digest", field, what, &d, err) < 0)
		return -1;
	if (!d)
		return err_set(err, 0, "%s: field `%s` is missing", what, field);
	if (!image_digest_valid(d)) {
		if (strncmp(d, "sha256:", 7) != 0 && strchr(d, ':'))
			return err_set(err, 0, "%s: field `%s` is `%.80s`: only sha256 digests are "
				       "supported; push the image with sha256 digests", what, field, d);
		return err_set(err, 0, "%s: field `%s` is `%.80s`, which is not a digest (expected "
			       "`sha256:` and 64 lowercase hex digits)", what, field, d);
	}
	*out = xstrdup(d);
	return 0;
}

/* ---- image config ------------------------------------------------------------- */

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int config_env(const json_t *config, const char *what, char ***env, struct err **err)
{
	json_t *list = NULL;
	if (config && mjson_opt_container(config, "Env", false, "config.Env", what, &list, err) < 0)
		return -1;
	size_t n = list ? json_array_size(list) : 0;
	char **v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(list, i);
		if (!json_is_string(s)) {
			free_strv(v);
			return err_set(err, 0, "%s: field `config.Env[%zu]` is not a string", what, i);
		}
		if (!strchr(json_string_value(s), '=')) {
			free_strv(v);
			return err_set(err, 0, "%s: field `config.Env[%zu]` is `%.80s`, which is not "
				       "of the form NAME=VALUE", what, i, json_string_value(s));
		}
		v[i] = xstrdup(json_string_value(s));
	}
	*env = v;
	return 0;
}

int image_config_parse(const char *text, size_t len, const char *what, char ***env,
		       char **working_dir, struct err **err)
{
	*env = NULL;
	*working_dir = NULL;
	json_t *root = mjson_load_object(text, len, what, err);
	if (!root)
		return -1;
	json_t *config;
	const char *wd = NULL;
	int r = mjson_opt_container(root, "config", true, "config", what, &config, err);
	if (r == 0 && config)
		r = mjson_opt_string(config, "WorkingDir", "config.WorkingDir", what, &wd, err);
	if (r == 0)
		r = config_env(config, what, env, err);
	if (r == 0 && wd && *wd)
		*working_dir = xstrdup(wd);
	json_decref(root);
	return r;
}
