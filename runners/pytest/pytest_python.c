/*
 * pytest_python: helpers directory, interpreter candidates, the "python"
 * record. See pytest_python.h.
 */
#include "runners/pytest/pytest_python.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/ldd.h"
#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "core/strv.h"
#include "core/xalloc.h"

/* ---- the "python" record ---------------------------------------------------- */

static int get_string(const json_t *rec, const char *field, bool required, char **out,
		      struct err **err)
{
	const json_t *v = json_object_get(rec, field);
	if (!v && !required) {
		*out = xstrdup("");
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, 0, "python record: `%s` %s", field,
			       v ? "is not a string" : "is missing");
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int get_paths(const json_t *rec, const char *field, char ***out, struct err **err)
{
	const json_t *v = json_object_get(rec, field);
	char **list = strv_dup(NULL);
	*out = list;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return err_set(err, 0, "python record: `%s` is not a list", field);
	size_t i;
	const json_t *item;
	json_array_foreach(v, i, item) {
		const char *s = json_string_value(item);
		if (!s || s[0] != '/')
			return err_set(err, 0, "python record: `%s[%zu]` is not an absolute path",
				       field, i);
		list = strv_push(list, s);
		*out = list;
	}
	return 0;
}

int pytest_python_from_json(const json_t *rec, struct pytest_python *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(rec))
		return err_set(err, 0, "python record is not a JSON object");
	if (get_string(rec, "executable", true, &out->executable, err) < 0 ||
	    get_string(rec, "real_executable", false, &out->real_executable, err) < 0 ||
	    get_string(rec, "version", false, &out->version, err) < 0 ||
	    get_string(rec, "pytest_version", false, &out->pytest_version, err) < 0 ||
	    get_paths(rec, "links", &out->links, err) < 0 ||
	    get_paths(rec, "dirs", &out->dirs, err) < 0 ||
	    get_paths(rec, "files", &out->files, err) < 0 ||
	    get_paths(rec, "extensions", &out->extensions, err) < 0)
		goto fail;
	if (out->executable[0] != '/') {
		err_set(err, 0, "python record: `executable` (%s) is not an absolute path",
			out->executable);
		goto fail;
	}
	if (out->real_executable[0] == '\0') {
		free(out->real_executable);
		out->real_executable = xstrdup(out->executable);
	}
	return 0;
fail:
	pytest_python_release(out);
	return -1;
}

static json_t *paths_json(char *const *paths)
{
	json_t *a = json_array();
	for (char *const *q = paths; q && *q; q++)
		json_array_append_new(a, json_string(*q));
	return a;
}

json_t *pytest_python_to_json(const struct pytest_python *p)
{
	json_t *rec = json_object();
	if (!rec)
		abort(); /* out of memory */
	json_object_set_new(rec, "type", json_string("python"));
	json_object_set_new(rec, "executable", json_string(p->executable ? p->executable : ""));
	json_object_set_new(rec, "real_executable",
			    json_string(p->real_executable ? p->real_executable : ""));
	json_object_set_new(rec, "version", json_string(p->version ? p->version : ""));
	json_object_set_new(rec, "pytest_version",
			    json_string(p->pytest_version ? p->pytest_version : ""));
	json_object_set_new(rec, "links", paths_json(p->links));
	json_object_set_new(rec, "dirs", paths_json(p->dirs));
	json_object_set_new(rec, "files", paths_json(p->files));
	json_object_set_new(rec, "extensions", paths_json(p->extensions));
	return rec;
}

void pytest_python_release(struct pytest_python *p)
{
	free(p->executable);
	free(p->real_executable);
	free(p->version);
	free(p->pytest_version);
	strv_free(p->links);
	strv_free(p->dirs);
	strv_free(p->files);
	strv_free(p->extensions);
	memset(p, 0, sizeof(*p));
}

size_t pytest_python_check_extensions(struct pytest_python *p)
{
	size_t kept = 0, dropped = 0;
	for (size_t i = 0; p->extensions && p->extensions[i]; i++) {
		const char *bin[] = {p->extensions[i]};
		char **libs = NULL;
		size_t n_libs = 0;
		struct err *err = NULL;
		if (ldd_closure(bin, 1, &libs, &n_libs, &err) < 0) {
			log_debug("leaving %s out of the test containers: %s", p->extensions[i],
				  err_msg(err));
			err_free(&err);
			free(p->extensions[i]);
			dropped++;
			continue;
		}
		ldd_free(libs, n_libs);
		p->extensions[kept++] = p->extensions[i];
	}
	if (p->extensions)
		p->extensions[kept] = NULL;
	return dropped;
}

/* ---- the helpers directory ---------------------------------------------------- */

/* The real path of dir when it holds the collection script, else NULL. */
static char *helpers_in(const char *dir)
{
	_cleanup_free_ char *script = xasprintf("%s/%s", dir, PYTEST_COLLECT_SCRIPT);
	if (access(script, R_OK) != 0)
		return NULL;
	return realpath(dir, NULL);
}

int pytest_helpers_dir(char **out, struct err **err)
{
	*out = NULL;
	const char *env = getenv(PYTEST_HELPERS_ENV);
	if (env && *env) {
		*out = helpers_in(env);
		if (*out)
			return 0;
		return err_set(err, 0, "%s=%s: no %s there; point it at the directory holding "
				       "maelstrom-pytest's Python helpers",
			       PYTEST_HELPERS_ENV, env, PYTEST_COLLECT_SCRIPT);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return err_set(err, errno, "cannot find maelstrom-pytest's own path "
				       "(/proc/self/exe); set %s to the directory holding its Python "
				       "helpers", PYTEST_HELPERS_ENV);
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	const char *rel[] = {"../share/maelstrom/python", "../../runners/pytest/python"};
	struct buf tried = BUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", exe, rel[i]);
		*out = helpers_in(dir);
		if (*out) {
			buf_release(&tried);
			return 0;
		}
		buf_appendf(&tried, "%s%s", i ? ", " : "", dir);
	}
	err_set(err, 0, "cannot find maelstrom-pytest's Python helpers (%s) in %s; reinstall "
			"maelstrom-pytest, or set %s to the directory holding them",
		PYTEST_COLLECT_SCRIPT, tried.data, PYTEST_HELPERS_ENV);
	buf_release(&tried);
	return -1;
}

/* ---- interpreters ------------------------------------------------------------------ */

/* The real path of the first `name` on PATH, or NULL. */
static char *which_real(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = xasprintf("%s/%s", *d ? d : ".", name);
		if (access(p, X_OK) == 0)
			return realpath(p, NULL);
	}
	return NULL;
}

char **pytest_python_candidates(const char *configured)
{
	char **v = strv_dup(NULL);
	if (configured && *configured)
		return strv_push(v, configured);
	v = strv_push(v, "python3");
	_cleanup_free_ char *first = which_real("python3");
	_cleanup_free_ char *system = realpath("/usr/bin/python3", NULL);
	if (!first || !system || strcmp(first, system) != 0)
		v = strv_push(v, "/usr/bin/python3");
	return v;
}
