/*
 * image_manifest_index: indexes and manifest lists: their entries, and the
 * one chosen by ref name (org.opencontainers.image.ref.name) and by this
 * machine's platform. See image_manifest.h, manifest_parse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/image_manifest_internal.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

struct index_entry {
	const char *name;  /* ref name annotation, or NULL */
	const char *os, *arch, *variant; /* NULL when the entry has no platform */
	char *digest;
};

static int parse_entry(const json_t *v, size_t i, const char *what, struct index_entry *e,
		       struct err **err)
{
	char prefix[PREFIX_MAX], field[FIELD_MAX];
	snprintf(prefix, sizeof(prefix), "manifests[%zu]", i);
	if (!json_is_object(v))
		return err_set(err, 0, "%s: field `%s` is not an object", what, prefix);
	if (mjson_descriptor_digest(v, prefix, what, &e->digest, err) < 0)
		return -1;
	json_t *platform, *annotations;
	snprintf(field, sizeof(field), "%s.platform", prefix);
	if (mjson_opt_container(v, "platform", true, field, what, &platform, err) < 0)
		return -1;
	if (platform) {
		snprintf(field, sizeof(field), "%s.platform.os", prefix);
		if (mjson_opt_string(platform, "os", field, what, &e->os, err) < 0)
			return -1;
		snprintf(field, sizeof(field), "%s.platform.architecture", prefix);
		if (mjson_opt_string(platform, "architecture", field, what, &e->arch, err) < 0)
			return -1;
		if (!e->arch)
			return err_set(err, 0, "%s: field `%s` is missing", what, field);
		snprintf(field, sizeof(field), "%s.platform.variant", prefix);
		if (mjson_opt_string(platform, "variant", field, what, &e->variant, err) < 0)
			return -1;
	}
	snprintf(field, sizeof(field), "%s.annotations", prefix);
	if (mjson_opt_container(v, "annotations", true, field, what, &annotations, err) < 0)
		return -1;
	if (annotations) {
		snprintf(field, sizeof(field), "%s.annotations.\"%s\"", prefix, REF_NAME_ANNOTATION);
		if (mjson_opt_string(annotations, REF_NAME_ANNOTATION, field, what, &e->name, err) < 0)
			return -1;
	}
	return 0;
}

static bool platform_matches(const struct index_entry *e, const char *arch)
{
	return e->arch && strcmp(e->arch, arch) == 0 && (!e->os || strcmp(e->os, "linux") == 0);
}

/* Whether entry idx[k] repeats the name of an earlier entry of idx. */
static bool name_seen(const struct index_entry *v, const size_t *idx, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (v[idx[j]].name && strcmp(v[idx[j]].name, v[idx[k]].name) == 0)
			return true;
	return false;
}

/* "a, b, c": the names (each once) or the platforms of the entries idx. */
static char *join_entries(const struct index_entry *v, const size_t *idx, size_t n, bool names)
{
	size_t len = 0;
	char *s = xstrdup("");
	for (size_t k = 0; k < n; k++) {
		const struct index_entry *e = &v[idx[k]];
		_cleanup_free_ char *item = NULL;
		if (names && (!e->name || name_seen(v, idx, k)))
			continue;
		if (names)
			item = xstrdup(e->name);
		else
			item = xasprintf("%s/%s%s%s", e->os ? e->os : "?", e->arch ? e->arch : "?",
					 e->variant ? "/" : "", e->variant ? e->variant : "");
		s = xrealloc(s, len + strlen(item) + 3);
		len += (size_t)sprintf(s + len, "%s%s", len ? ", " : "", item);
	}
	return s;
}

static int choose_entry(const struct index_entry *v, size_t n, const char *ref, const char *what,
			const char **chosen, struct err **err)
{
	_cleanup_free_ size_t *all = xcalloc(n, sizeof(*all));
	_cleanup_free_ size_t *cand = xcalloc(n, sizeof(*cand));
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		all[i] = i;
		if (!ref || (v[i].name && strcmp(v[i].name, ref) == 0))
			cand[nc++] = i;
	}
	if (nc == 0) {
		_cleanup_free_ char *names = join_entries(v, all, n, true);
		if (*names)
			return err_set(err, 0, "%s: no image is named `%s` (the index has: %s)", what,
				       ref, names);
		return err_set(err, 0, "%s: no image is named `%s` (the index names none of its "
			       "%zu entries; leave the name out)", what, ref, n);
	}
	const char *arch = image_platform_arch();
	size_t n_plain = 0, plain = 0;
	for (size_t k = 0; k < nc; k++) {
		const struct index_entry *e = &v[cand[k]];
		if (platform_matches(e, arch)) {
			*chosen = e->digest;
			return 0;
		}
		if (!e->arch) {
			n_plain++;
			plain = cand[k];
		}
	}
	if (n_plain == 1) {
		*chosen = v[plain].digest;
		return 0;
	}
	if (n_plain == 0) {
		_cleanup_free_ char *platforms = join_entries(v, cand, nc, false);
		return err_set(err, 0, "%s: no image for this machine's platform linux/%s (the "
			       "index has: %s)", what, arch, platforms);
	}
	if (ref)
		return err_set(err, 0, "%s: %zu entries are named `%s` and none says its platform; "
			       "keep one of them", what, n_plain, ref);
	_cleanup_free_ char *names = join_entries(v, cand, nc, true);
	return err_set(err, 0, "%s: holds %zu images; name the one to use (the index has: %s)",
		       what, n_plain, *names ? names : "no names");
}

int manifest_parse_index(const json_t *root, const char *ref, const char *what,
			 struct manifest *out, struct err **err)
{
	json_t *list;
	if (mjson_req_container(root, "manifests", false, "manifests", what, &list, err) < 0)
		return -1;
	size_t n = json_array_size(list);
	if (n == 0)
		return err_set(err, 0, "%s: field `manifests` is empty: the index holds no image",
			       what);
	struct index_entry *v = xcalloc(n, sizeof(*v));
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++)
		r = parse_entry(json_array_get(list, i), i, what, &v[i], err);
	const char *chosen = NULL;
	if (r == 0)
		r = choose_entry(v, n, ref, what, &chosen, err);
	if (r == 0)
		out->chosen_digest = xstrdup(chosen);
	for (size_t i = 0; i < n; i++)
		free(v[i].digest);
	free(v);
	return r;
}
