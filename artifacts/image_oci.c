/*
 * image_oci: OCI image layouts on this machine (oci:PATH[:REF]) and tar
 * files holding one (oci-archive:PATH[:REF]). See image_oci.h.
 */
#include "artifacts/image_oci.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifacts/extract.h"
#include "artifacts/image_depot.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

/* Manifests, indexes and oci-layout are small; anything bigger is not one. */
#define OCI_JSON_MAX (8u << 20)
/* An index may point at an index; a deeper chain is a loop or an abuse. */
#define OCI_MAX_NESTING 8

static char *blob_path(const char *dir, const char *digest)
{
	/* digest is valid: "sha256:" + hex (image_digest_valid) */
	return xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
}

/* Reads dir/name (a JSON file of the layout), with messages naming name. */
static int read_json_file(const char *dir, const char *name, char **text, size_t *len,
			  struct err **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	if (stat(dir, &st) < 0)
		return err_set(err, errno, "cannot open the image layout directory");
	if (!S_ISDIR(st.st_mode))
		return err_set(err, 0, "is not a directory; an OCI image layout is a directory "
			       "(for a tar file of one, write oci-archive:PATH)");
	if (stat(path, &st) < 0 && errno == ENOENT)
		return err_set(err, 0, "%s is missing: this is not an OCI image layout (one holds "
			       "oci-layout, index.json and blobs/)", name);
	if (depot_read_file(path, OCI_JSON_MAX, text, len, err) < 0)
		return err_wrap(err, "%s", name);
	return 0;
}

static int check_layout_version(const char *dir, struct err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_json_file(dir, "oci-layout", &text, &len, err) < 0)
		return -1;
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	if (!root)
		return err_set(err, 0, "oci-layout: not valid JSON (line %d, column %d: %s)", je.line,
			       je.column, je.text);
	const char *v = json_string_value(json_object_get(root, "imageLayoutVersion"));
	int r = 0;
	if (!v)
		r = err_set(err, 0, "oci-layout: field `imageLayoutVersion` is missing or not a "
			    "string");
	else if (strncmp(v, "1.", 2) != 0)
		r = err_set(err, 0, "oci-layout: field `imageLayoutVersion` is `%.40s`; this "
			    "program reads version 1 layouts", v);
	json_decref(root);
	return r;
}

/* Reads and parses the blob digest of the layout as a manifest or index. */
static int read_manifest_blob(const char *dir, const char *digest, struct manifest *m,
			      struct err **err)
{
	_cleanup_free_ char *path = blob_path(dir, digest);
	_cleanup_free_ char *what = xasprintf("manifest %s", digest);
	struct stat st;
	if (stat(path, &st) < 0)
		return err_set(err, errno, "%s: cannot find its blob blobs/sha256/%s", what,
			       digest + 7);
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (depot_read_file(path, OCI_JSON_MAX, &text, &len, err) < 0)
		return err_wrap(err, "%s", what);
	return manifest_parse(text, len, NULL, NULL, what, m, err);
}

/* The path of a blob the image needs, after checking it is a file. */
static int need_blob(const char *dir, const char *digest, const char *role, char **out,
		     struct err **err)
{
	char *path = blob_path(dir, digest);
	struct stat st;
	int r = stat(path, &st);
	int e = r < 0 ? errno : 0;
	if (r < 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return err_set(err, 0, "the %s blob %s is missing (no file blobs/sha256/%s: %s): "
			       "the layout is incomplete; copy the image into it again", role, digest,
			       digest + 7, e ? strerror(e) : "not a regular file");
	}
	*out = path;
	return 0;
}

static int fill_image(const char *dir, const char *manifest_digest, const struct manifest *m,
		      struct oci_image *out, struct err **err)
{
	out->manifest_digest = xstrdup(manifest_digest);
	if (need_blob(dir, m->config_digest, "config", &out->config_path, err) < 0)
		return -1;
	out->layer_paths = xcalloc(m->n_layers + 1, sizeof(*out->layer_paths));
	for (size_t i = 0; i < m->n_layers; i++) {
		char role[64];
		snprintf(role, sizeof(role), "layer %zu of %zu", i + 1, m->n_layers);
		if (need_blob(dir, m->layers[i].digest, role, &out->layer_paths[i], err) < 0)
			return -1;
		out->n_layers = i + 1;
	}
	return 0;
}

static int layout_open(const char *dir, const char *ref, struct oci_image *out, struct err **err)
{
	if (check_layout_version(dir, err) < 0)
		return -1;
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_json_file(dir, "index.json", &text, &len, err) < 0)
		return -1;
	struct manifest m;
	if (manifest_parse(text, len, NULL, ref, "index.json", &m, err) < 0)
		return -1;
	if (m.kind != MANIFEST_INDEX) {
		manifest_release(&m);
		return err_set(err, 0, "index.json: is an image manifest, not an index");
	}
	for (int depth = 0; depth < OCI_MAX_NESTING; depth++) {
		_cleanup_free_ char *digest = steal_pointer(&m.chosen_digest);
		manifest_release(&m);
		if (read_manifest_blob(dir, digest, &m, err) < 0)
			return -1;
		if (m.kind == MANIFEST_IMAGE) {
			int r = fill_image(dir, digest, &m, out, err);
			manifest_release(&m);
			return r;
		}
	}
	manifest_release(&m);
	return err_set(err, 0, "index.json: indexes nest more than %d deep; is there a loop?",
		       OCI_MAX_NESTING);
}

int oci_layout_open(const char *dir, const char *ref, struct oci_image *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (layout_open(dir, ref, out, err) < 0) {
		oci_image_release(out);
		return err_wrap(err, "oci:%s", dir);
	}
	return 0;
}

void oci_image_release(struct oci_image *img)
{
	free(img->manifest_digest);
	free(img->config_path);
	for (size_t i = 0; img->layer_paths && img->layer_paths[i]; i++)
		free(img->layer_paths[i]);
	free(img->layer_paths);
	memset(img, 0, sizeof(*img));
}

int oci_archive_unpack(const char *tar_path, const char *dest_dir, struct err **err)
{
	struct stat st;
	if (stat(tar_path, &st) < 0)
		return err_set(err, errno, "oci-archive:%s: cannot open the archive", tar_path);
	if (S_ISDIR(st.st_mode))
		return err_set(err, 0, "oci-archive:%s: is a directory; for an image layout "
			       "directory write oci:%s", tar_path, tar_path);
	if (mkdir(dest_dir, 0755) < 0)
		return err_set(err, errno, "oci-archive:%s: cannot make the directory %s to unpack "
			       "it into", tar_path, dest_dir);
	if (extract_tar(tar_path, dest_dir, err) < 0) {
		struct err *cleanup = NULL;
		extract_remove_tree(AT_FDCWD, dest_dir, &cleanup);
		err_free(&cleanup);
		return err_wrap(err, "oci-archive:%s", tar_path);
	}
	return 0;
}

int oci_split_name(const char *rest, char **path, char **ref, struct err **err)
{
	*path = *ref = NULL;
	const char *colon = strchr(rest, ':');
	size_t plen = colon ? (size_t)(colon - rest) : strlen(rest);
	if (plen == 0)
		return err_set(err, 0, "`%s`: the image's path is empty; write PATH or PATH:NAME "
			       "after the scheme", rest);
	if (colon && !colon[1])
		return err_set(err, 0, "`%s`: the image name after `:` is empty; remove the `:` or "
			       "write a name", rest);
	for (const char *p = colon ? colon + 1 : ""; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return err_set(err, 0, "`%s`: the image name `%s` contains a space or a "
				       "control character", rest, colon + 1);
	*path = xstrndup(rest, plen);
	*ref = colon ? xstrdup(colon + 1) : NULL;
	return 0;
}
