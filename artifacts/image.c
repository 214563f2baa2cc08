/*
 * image: image_get's scheme dispatch, the oci: and oci-archive: sources,
 * flattening into the depot, and image_info; see image.h. docker:// lives
 * in image_docker.c.
 */
#include "artifacts/image.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/extract.h"
#include "artifacts/image_depot.h"
#include "artifacts/image_flatten.h"
#include "artifacts/image_internal.h"
#include "artifacts/image_manifest.h"
#include "artifacts/image_oci.h"
#include "core/cleanup.h"
#include "core/dirs.h"
#include "core/fdio.h"
#include "core/log.h"
#include "core/xalloc.h"

#define CONFIG_FILE_MAX (16u << 20)
#define INFO_FILE_MAX (16u << 20)

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void image_source_release(struct image_source *s)
{
	free(s->manifest_digest);
	free(s->config_path);
	for (size_t i = 0; i < s->n_layers; i++)
		free(s->layer_paths[i]);
	free(s->layer_paths);
	memset(s, 0, sizeof(*s));
}

/* ---- image_info ---------------------------------------------------------- */

void image_info_release(struct image_info *info)
{
	free(info->name);
	free(info->digest);
	free(info->layer_tar);
	strv_free(info->env);
	free(info->working_dir);
	memset(info, 0, sizeof(*info));
}

char *image_info_to_json(const struct image_info *info)
{
	json_t *env = json_array();
	for (size_t i = 0; info->env && info->env[i]; i++)
		json_array_append_new(env, json_string(info->env[i]));
	json_t *doc = json_pack("{s:s?, s:s?, s:s?, s:o, s:s?}", "name", info->name, "digest",
				info->digest, "layer_tar", info->layer_tar, "env", env,
				"working_dir", info->working_dir);
	if (!doc)
		abort(); /* only invalid UTF-8 or no memory fail here */
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		abort();
	char *out = xstrdup(text);
	free(text);
	return out;
}

static int info_string(json_t *doc, const char *key, bool required, char **out, struct err **err)
{
	json_t *v = json_object_get(doc, key);
	if (!v || json_is_null(v)) {
		if (required)
			return err_set(err, 0, "image info JSON: field `%s` is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, 0, "image info JSON: field `%s` is not a string", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int info_env(json_t *doc, char ***out, struct err **err)
{
	json_t *v = json_object_get(doc, "env");
	if (v && !json_is_array(v))
		return err_set(err, 0, "image info JSON: field `env` is not an array");
	size_t n = json_array_size(v);
	char **env = xcalloc(n + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(v, i));
		if (!s) {
			strv_free(env);
			return err_set(err, 0, "image info JSON: field `env[%zu]` is not a string",
				       i);
		}
		env[i] = xstrdup(s);
	}
	*out = env;
	return 0;
}

int image_info_from_json(const char *text, struct image_info *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	json_error_t je;
	json_t *doc = json_loads(text, 0, &je);
	if (!doc)
		return err_set(err, 0, "image info JSON: not valid JSON (line %d, column %d: %s)",
			       je.line, je.column, je.text);
	int rc = json_is_object(doc) ? 0 : err_set(err, 0, "image info JSON: not an object");
	if (rc == 0)
		rc = info_string(doc, "name", false, &out->name, err);
	if (rc == 0)
		rc = info_string(doc, "digest", true, &out->digest, err);
	if (rc == 0)
		rc = info_string(doc, "layer_tar", true, &out->layer_tar, err);
	if (rc == 0)
		rc = info_string(doc, "working_dir", false, &out->working_dir, err);
	if (rc == 0)
		rc = info_env(doc, &out->env, err);
	json_decref(doc);
	if (rc < 0)
		image_info_release(out);
	else if (out->working_dir && !*out->working_dir) {
		free(out->working_dir);
		out->working_dir = NULL;
	}
	return rc;
}

char *image_default_depot(void)
{
	return dirs_resolve(NULL, "XDG_CACHE_HOME", ".cache", "maelstrom/containers");
}

/* ---- oci: and oci-archive: ----------------------------------------------- */

static int source_from_oci(const char *dir, const char *ref, struct image_source *out,
			   struct err **err)
{
	struct oci_image img;
	if (oci_layout_open(dir, ref, &img, err) < 0)
		return -1;
	out->manifest_digest = xstrdup(img.manifest_digest);
	out->config_path = xstrdup(img.config_path);
	out->n_layers = img.n_layers;
	out->layer_paths = xcalloc(img.n_layers + 1, sizeof(*out->layer_paths));
	for (size_t i = 0; i < img.n_layers; i++)
		out->layer_paths[i] = xstrdup(img.layer_paths[i]);
	oci_image_release(&img);
	return 0;
}

static int oci_source(const char *rest, struct image_source *out, struct err **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *ref = NULL;
	if (oci_split_name(rest, &path, &ref, err) < 0)
		return -1;
	return source_from_oci(path, ref, out, err);
}

/* The depot's name for an archive: the same file unchanged has the same
 * key; any change (replaced, rewritten, touched) gives a new one. */
static int archive_key(const char *path, char **key, struct err **err)
{
	_cleanup_free_ char *abs = realpath(path, NULL);
	struct stat st;
	if (!abs || stat(abs, &st) < 0)
		return err_set(err, errno, "cannot read the archive %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "%s is not a file: oci-archive: names a tar file", path);
	_cleanup_free_ char *id = xasprintf("%s\n%llu\n%llu\n%lld\n%lld.%09ld", abs,
					    (unsigned long long)st.st_dev,
					    (unsigned long long)st.st_ino, (long long)st.st_size,
					    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	char digest[IMAGE_DIGEST_SIZE];
	image_sha256_digest(id, strlen(id), digest);
	*key = xstrdup(digest + strlen("sha256:"));
	return 0;
}

/* Unpacks the archive into the depot as final/layout (unless another
 * client is quicker: then its copy is used). The unpacked layout is read
 * only, so it is the temporary directory around it that is renamed. */
static int unpack_archive(const struct image_depot *d, const char *path, const char *final,
			  struct err **err)
{
	_cleanup_free_ char *tmp = NULL;
	if (depot_tmp_dir(d, "archive", &tmp, err) < 0)
		return -1;
	_cleanup_free_ char *dest = xasprintf("%s/layout", tmp);
	int rc = oci_archive_unpack(path, dest, err);
	if (rc == 0 && chmod(tmp, 0755) < 0)
		rc = err_set(err, errno, "cannot make %s readable", tmp);
	if (rc == 0 && rename(tmp, final) == 0)
		return 0;
	if (rc == 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = err_set(err, errno, "cannot rename %s to %s", tmp, final);
	struct err *e = NULL;
	if (extract_remove_tree(AT_FDCWD, tmp, &e) < 0) {
		log_warning("cannot remove the temporary %s: %s", tmp, err_msg(e));
		err_free(&e);
	}
	return rc;
}

static int archive_source(const struct image_depot *d, const char *rest, struct image_source *out,
			  struct err **err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *ref = NULL;
	_cleanup_free_ char *key = NULL;
	if (oci_split_name(rest, &path, &ref, err) < 0 || archive_key(path, &key, err) < 0)
		return -1;
	_cleanup_free_ char *dir = depot_archive_path(d, key);
	if (!depot_exists(dir) && unpack_archive(d, path, dir, err) < 0)
		return -1;
	_cleanup_free_ char *layout = xasprintf("%s/layout", dir);
	return source_from_oci(layout, ref, out, err);
}

/* ---- flattening into the depot ------------------------------------------- */

static int write_info_json(const struct image_depot *d, const struct image_info *info,
			   const char *final, struct err **err)
{
	_cleanup_free_ char *text = image_info_to_json(info);
	_cleanup_free_ char *tmp = NULL;
	if (depot_tmp_file(d, "info", &tmp, err) < 0)
		return -1;
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || fd_write_all(fd, text, strlen(text)) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot write %s (is the disk full?)", tmp);
	}
	return depot_install(tmp, final, err);
}

/* Flattens src's layers into the depot, reads its config, records both. */
static int flatten_into_depot(const struct image_depot *d, const struct image_source *src,
			      struct image_info *info, struct err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	char what[64];
	snprintf(what, sizeof(what), "config of manifest %.19s..", src->manifest_digest);
	if (depot_read_file(src->config_path, CONFIG_FILE_MAX, &text, &len, err) < 0 ||
	    image_config_parse(text, len, what, &info->env, &info->working_dir, err) < 0)
		return -1;

	_cleanup_free_ char *tmp = NULL;
	if (depot_tmp_file(d, "flatten", &tmp, err) < 0)
		return -1;
	if (image_flatten((const char *const *)src->layer_paths, src->n_layers, tmp, err) < 0) {
		unlink(tmp);
		return -1;
	}
	if (depot_install(tmp, info->layer_tar, err) < 0)
		return -1;
	_cleanup_free_ char *json = depot_image_json_path(d, src->manifest_digest);
	return write_info_json(d, info, json, err);
}

/* Reads the recorded env and working dir of an image flattened before. */
static int read_flattened(const struct image_depot *d, const char *digest, struct image_info *info,
			  struct err **err)
{
	_cleanup_free_ char *json = depot_image_json_path(d, digest);
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct image_info saved;
	if (depot_read_file(json, INFO_FILE_MAX, &text, &len, err) < 0 ||
	    image_info_from_json(text, &saved, err) < 0)
		return err_wrap(err, "the container image depot's %s is damaged (delete it)", json);
	info->env = steal_pointer(&saved.env);
	info->working_dir = steal_pointer(&saved.working_dir);
	image_info_release(&saved);
	return 0;
}

static int finish(const struct image_depot *d, const char *name, const struct image_source *src,
		  struct image_info *info, struct err **err)
{
	info->name = xstrdup(name);
	info->digest = xstrdup(src->manifest_digest);
	info->layer_tar = depot_image_tar_path(d, src->manifest_digest);
	_cleanup_free_ char *json = depot_image_json_path(d, src->manifest_digest);
	if (depot_exists(json) && depot_exists(info->layer_tar))
		return read_flattened(d, src->manifest_digest, info, err);
	if (src->flattened)
		return err_set(err, 0, "the flattened image %s vanished from the depot: try again",
			       info->layer_tar);
	return flatten_into_depot(d, src, info, err);
}

/* ---- image_get ----------------------------------------------------------- */

static int get(const char *name, const struct image_options *o, const struct image_depot *d,
	       struct image_info *out, struct err **err)
{
	struct image_source src = { 0 };
	int rc;
	if (strncmp(name, "docker://", 9) == 0)
		rc = image_docker_source(name + 9, o, d, &src, err);
	else if (strncmp(name, "oci-archive:", 12) == 0)
		rc = archive_source(d, name + 12, &src, err);
	else if (strncmp(name, "oci:", 4) == 0)
		rc = oci_source(name + 4, &src, err);
	else
		rc = err_set(err, 0,
			     "unknown kind of image: write docker://NAME[:TAG], oci:PATH[:REF] or "
			     "oci-archive:PATH[:REF]");
	if (rc == 0)
		rc = finish(d, name, &src, out, err);
	image_source_release(&src);
	return rc;
}

int image_get(const char *name, const struct image_options *o, struct image_info *out,
	      struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (!o->depot_dir)
		return err_set(err, 0,
			       "%s: no container image depot: set container-image-depot-root", name);
	struct image_depot d;
	if (depot_open(o->depot_dir, &d, err) < 0)
		return err_wrap(err, "%s", name);
	int rc = get(name, o, &d, out, err);
	depot_release(&d);
	if (rc < 0) {
		image_info_release(out);
		return err_wrap(err, "%s", name);
	}
	return 0;
}
