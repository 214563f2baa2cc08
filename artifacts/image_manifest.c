/*
 * image_manifest: what kind of document a manifest is, and image manifests
 * (config and layers). Indexes: image_manifest_index.c; JSON helpers and
 * configs: image_manifest_json.c. See image_manifest.h.
 */
#include "artifacts/image_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "artifacts/image_manifest_internal.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum mt_class { MT_INDEX, MT_IMAGE, MT_SCHEMA1, MT_OTHER };

/* Whether media type mt is name; parameters ("; charset=utf-8") are ignored. */
static bool type_is(const char *mt, const char *name)
{
	size_t len = strcspn(mt, "; \t");
	return strlen(name) == len && strncmp(name, mt, len) == 0;
}

static enum mt_class classify(const char *mt)
{
	static const struct {
		const char *name;
		enum mt_class cls;
	} known[] = {
		{ MT_OCI_INDEX, MT_INDEX },        { MT_DOCKER_LIST, MT_INDEX },
		{ MT_OCI_MANIFEST, MT_IMAGE },     { MT_DOCKER_MANIFEST, MT_IMAGE },
		{ MT_DOCKER_V1, MT_SCHEMA1 },      { MT_DOCKER_V1_SIGNED, MT_SCHEMA1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (type_is(mt, known[i].name))
			return known[i].cls;
	return MT_OTHER;
}

bool image_digest_valid(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0)
		return false;
	const char *hex = digest + 7;
	size_t n = 0;
	for (; hex[n]; n++)
		if (!((hex[n] >= '0' && hex[n] <= '9') || (hex[n] >= 'a' && hex[n] <= 'f')))
			return false;
	return n == 64;
}

const char *image_platform_arch(void)
{
	static char machine[sizeof(((struct utsname *)0)->machine)];
	struct utsname u;
	if (uname(&u) < 0)
		return "unknown";
	static const struct {
		const char *uname, *oci;
	} names[] = {
		{ "x86_64", "amd64" },   { "aarch64", "arm64" },  { "arm64", "arm64" },
		{ "i386", "386" },       { "i486", "386" },       { "i586", "386" },
		{ "i686", "386" },       { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "mips64", "mips64" }, { "loongarch64", "loong64" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(u.machine, names[i].uname) == 0)
			return names[i].oci;
	if (strncmp(u.machine, "arm", 3) == 0)
		return "arm";
	snprintf(machine, sizeof(machine), "%s", u.machine);
	return machine;
}

/* ---- image manifests ------------------------------------------------------ */

/* Layer media types this program unpacks: tar, plain or compressed. */
static bool layer_type_ok(const char *mt)
{
	static const char *const prefixes[] = {
		"application/vnd.oci.image.layer.",
		"application/vnd.docker.image.rootfs.",
	};
	size_t len = strcspn(mt, "; \t");
	static const char encrypted[] = "+encrypted";
	if (len >= sizeof(encrypted) - 1 &&
	    strncmp(mt + len - (sizeof(encrypted) - 1), encrypted, sizeof(encrypted) - 1) == 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(mt, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static int parse_layer(const json_t *v, size_t i, const char *what, struct manifest_layer *l,
		       struct err **err)
{
	char prefix[PREFIX_MAX], field[FIELD_MAX];
	snprintf(prefix, sizeof(prefix), "layers[%zu]", i);
	if (!json_is_object(v))
		return err_set(err, 0, "%s: field `%s` is not an object", what, prefix);
	if (mjson_descriptor_digest(v, prefix, what, &l->digest, err) < 0)
		return -1;
	snprintf(field, sizeof(field), "%s.mediaType", prefix);
	const char *mt;
	if (mjson_opt_string(v, "mediaType", field, what, &mt, err) < 0)
		return -1;
	if (mt && !layer_type_ok(mt))
		return err_set(err, 0, "%s: field `%s` is `%.120s`, which is not a layer type this "
			       "program can unpack (a tar, plain, gzip or zstd compressed)", what,
			       field, mt);
	l->media_type = xstrdup_or_null(mt);
	l->size = -1;
	json_t *size = json_object_get(v, "size");
	if (size && !json_is_null(size)) {
		snprintf(field, sizeof(field), "%s.size", prefix);
		if (!json_is_integer(size) || json_integer_value(size) < 0)
			return err_set(err, 0, "%s: field `%s` is not a size (a non-negative integer)",
				       what, field);
		l->size = (long long)json_integer_value(size);
	}
	return 0;
}

static int parse_image(const json_t *root, const char *what, struct manifest *out,
		       struct err **err)
{
	json_t *config, *layers;
	if (mjson_req_container(root, "config", true, "config", what, &config, err) < 0)
		return -1;
	const char *cmt;
	if (mjson_opt_string(config, "mediaType", "config.mediaType", what, &cmt, err) < 0)
		return -1;
	if (cmt && !type_is(cmt, MT_OCI_CONFIG) && !type_is(cmt, MT_DOCKER_CONFIG))
		return err_set(err, 0, "%s: field `config.mediaType` is `%.120s`: this is not a "
			       "container image (an OCI artifact such as a chart or a signature?); "
			       "name a container image", what, cmt);
	if (mjson_descriptor_digest(config, "config", what, &out->config_digest, err) < 0)
		return -1;
	if (mjson_req_container(root, "layers", false, "layers", what, &layers, err) < 0)
		return -1;
	out->n_layers = json_array_size(layers);
	out->layers = xcalloc(out->n_layers, sizeof(*out->layers));
	for (size_t i = 0; i < out->n_layers; i++)
		if (parse_layer(json_array_get(layers, i), i, what, &out->layers[i], err) < 0)
			return -1;
	return 0;
}

/* ---- the document's kind ------------------------------------------------------ */

static int schema1(const char *what, struct err **err)
{
	return err_set(err, 0, "%s: is a Docker schema 1 manifest, which this program does not "
		       "read; push the image again with a current tool (schema 2 or OCI)", what);
}

static int document_kind(const json_t *root, const char *media_type, const char *what,
			 enum manifest_kind *kind, struct err **err)
{
	json_t *version = json_object_get(root, "schemaVersion");
	if (version && json_is_integer(version) && json_integer_value(version) == 1)
		return schema1(what, err);
	if (version && (!json_is_integer(version) || json_integer_value(version) != 2))
		return err_set(err, 0, "%s: field `schemaVersion` is not 2: not an OCI or Docker "
			       "schema 2 document", what);
	enum mt_class cls = media_type ? classify(media_type) : MT_OTHER;
	const char *doc_mt;
	if (mjson_opt_string(root, "mediaType", "mediaType", what, &doc_mt, err) < 0)
		return -1;
	if (doc_mt) {
		enum mt_class dcls = classify(doc_mt);
		if (dcls == MT_OTHER)
			return err_set(err, 0, "%s: field `mediaType` is `%.120s`, which is neither an "
				       "image manifest nor an index", what, doc_mt);
		if (cls != MT_OTHER && cls != dcls)
			return err_set(err, 0, "%s: was sent as `%.120s`, but its field `mediaType` "
				       "is `%.120s`", what, media_type, doc_mt);
		cls = dcls;
	}
	switch (cls) {
	case MT_INDEX:
		*kind = MANIFEST_INDEX;
		return 0;
	case MT_IMAGE:
		*kind = MANIFEST_IMAGE;
		return 0;
	case MT_SCHEMA1:
		return schema1(what, err);
	case MT_OTHER:
		break;
	}
	/* No usable media type: the document's shape decides. */
	if (json_object_get(root, "manifests")) {
		*kind = MANIFEST_INDEX;
		return 0;
	}
	if (json_object_get(root, "layers") || json_object_get(root, "config")) {
		*kind = MANIFEST_IMAGE;
		return 0;
	}
	return err_set(err, 0, "%s: is neither an image manifest (no field `layers`) nor an index "
		       "(no field `manifests`)", what);
}

int manifest_parse(const char *text, size_t len, const char *media_type, const char *ref,
		   const char *what, struct manifest *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	json_t *root = mjson_load_object(text, len, what, err);
	if (!root)
		return -1;
	int r = document_kind(root, media_type, what, &out->kind, err);
	if (r == 0 && out->kind == MANIFEST_IMAGE)
		r = parse_image(root, what, out, err);
	else if (r == 0)
		r = manifest_parse_index(root, ref, what, out, err);
	json_decref(root);
	if (r < 0)
		manifest_release(out);
	return r;
}

void manifest_release(struct manifest *m)
{
	free(m->config_digest);
	for (size_t i = 0; i < m->n_layers; i++) {
		free(m->layers[i].digest);
		free(m->layers[i].media_type);
	}
	free(m->layers);
	free(m->chosen_digest);
	memset(m, 0, sizeof(*m));
}

