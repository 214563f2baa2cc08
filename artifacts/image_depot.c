/*
 * image_depot: the container image cache's layout, temporaries, verified
 * blobs; see image_depot.h.
 */
#include "artifacts/image_depot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/extract.h"
#include "core/cleanup.h"
#include "core/dirs.h"
#include "core/fdio.h"
#include "core/log.h"
#include "core/xalloc.h"

/* Temporaries older than this belong to crashed writers: a live writer
 * touches its file at least every stall timeout. */
#define STALE_SECONDS (24 * 60 * 60)

static const char *const subdirs[] = { "blobs", "blobs/sha256", "images", "archives", "tmp" };

static void remove_stale_tmp(const struct image_depot *d)
{
	_cleanup_free_ char *tmp = xasprintf("%s/tmp", d->root);
	DIR *dir = opendir(tmp);
	if (!dir) {
		log_warning("cannot list %s to clean it: %s", tmp, strerror(errno));
		return;
	}
	time_t now = time(NULL);
	struct dirent *ent;
	while ((ent = readdir(dir))) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - st.st_mtime < STALE_SECONDS)
			continue;
		struct err *e = NULL;
		if (extract_remove_tree(dirfd(dir), ent->d_name, &e) < 0) {
			log_warning("cannot remove the stale temporary %s/%s: %s", tmp, ent->d_name,
				    err_msg(e));
			err_free(&e);
		}
	}
	closedir(dir);
}

int depot_open(const char *root, struct image_depot *d, struct err **err)
{
	memset(d, 0, sizeof(*d));
	if (!*root)
		return err_set(err, 0, "the container image depot path is empty: set "
				       "container-image-depot-root to a directory");
	if (dirs_make(root, err) < 0)
		return err_wrap(err, "cannot create the container image depot");
	char *abs = realpath(root, NULL);
	if (!abs)
		return err_set(err, errno, "cannot resolve the container image depot %s", root);
	for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", abs, subdirs[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			int saved = errno;
			free(abs);
			return err_set(err, saved, "cannot create %s in the container image depot",
				       p);
		}
	}
	d->root = abs;
	remove_stale_tmp(d);
	return 0;
}

void depot_release(struct image_depot *d)
{
	free(d->root);
	memset(d, 0, sizeof(*d));
}

/* The HEX of "sha256:HEX". */
static const char *digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');
	return colon ? colon + 1 : digest;
}

char *depot_blob_path(const struct image_depot *d, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", d->root, digest_hex(digest));
}

char *depot_image_tar_path(const struct image_depot *d, const char *digest)
{
	return xasprintf("%s/images/%s.tar", d->root, digest_hex(digest));
}

char *depot_image_json_path(const struct image_depot *d, const char *digest)
{
	return xasprintf("%s/images/%s.json", d->root, digest_hex(digest));
}

char *depot_archive_path(const struct image_depot *d, const char *key)
{
	return xasprintf("%s/archives/%s", d->root, key);
}

bool depot_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

int depot_tmp_file(const struct image_depot *d, const char *what, char **path, struct err **err)
{
	char *p = xasprintf("%s/tmp/%s-XXXXXX", d->root, what);
	int fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		int saved = errno;
		free(p);
		return err_set(err, saved, "cannot create a temporary file in %s/tmp", d->root);
	}
	close(fd);
	*path = p;
	return 0;
}

int depot_tmp_dir(const struct image_depot *d, const char *what, char **path, struct err **err)
{
	char *p = xasprintf("%s/tmp/%s-XXXXXX", d->root, what);
	if (!mkdtemp(p)) {
		int saved = errno;
		free(p);
		return err_set(err, saved, "cannot create a temporary directory in %s/tmp", d->root);
	}
	*path = p;
	return 0;
}

static int fsync_parent(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -1 : fsync(fd);
}

int depot_install(const char *tmp_path, const char *final_path, struct err **err)
{
	int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int saved = errno;
		unlink(tmp_path);
		return err_set(err, saved, "cannot open the temporary %s", tmp_path);
	}
	if (fsync(fd) < 0 || fchmod(fd, 0444) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp_path);
		return err_set(err, saved, "cannot make %s durable (is the disk full?)", tmp_path);
	}
	close(fd);
	if (rename(tmp_path, final_path) < 0) {
		int saved = errno;
		unlink(tmp_path);
		return err_set(err, saved, "cannot rename %s to %s", tmp_path, final_path);
	}
	if (fsync_parent(final_path) < 0)
		log_debug("cannot fsync the directory of %s: %s", final_path, strerror(errno));
	return 0;
}

/* ---- verified blobs ------------------------------------------------------ */

static void hex_of(const unsigned char *md, unsigned int n, char out[IMAGE_DIGEST_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	memcpy(out, "sha256:", 7);
	for (unsigned int i = 0; i < n && i < 32; i++) {
		out[7 + 2 * i] = digits[md[i] >> 4];
		out[8 + 2 * i] = digits[md[i] & 15];
	}
	out[7 + 64] = '\0';
}

static EVP_MD_CTX *md_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort(); /* only out of memory makes this fail */
	return ctx;
}

static void md_finish(EVP_MD_CTX *ctx, char out[IMAGE_DIGEST_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != 32)
		abort();
	hex_of(md, n, out);
}

void image_sha256_digest(const void *data, size_t len, char out[IMAGE_DIGEST_SIZE])
{
	EVP_MD_CTX *ctx = md_new();
	if (EVP_DigestUpdate(ctx, data, len) != 1)
		abort();
	md_finish(ctx, out);
	EVP_MD_CTX_free(ctx);
}

int depot_blob_begin(const struct image_depot *d, struct depot_blob *w, struct err **err)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if (depot_tmp_file(d, "blob", &w->tmp_path, err) < 0)
		return -1;
	w->fd = open(w->tmp_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (w->fd < 0) {
		int saved = errno;
		depot_blob_abort(w);
		return err_set(err, saved, "cannot open the temporary %s", w->tmp_path);
	}
	w->depot = d;
	w->md = md_new();
	return 0;
}

int depot_blob_write(struct depot_blob *w, const void *data, size_t len, struct err **err)
{
	if (fd_write_all(w->fd, data, len) < 0)
		return err_set(err, errno, "cannot write %s (is the disk full?)", w->tmp_path);
	if (EVP_DigestUpdate(w->md, data, len) != 1)
		abort();
	return 0;
}

void depot_blob_abort(struct depot_blob *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_path)
		unlink(w->tmp_path);
	free(w->tmp_path);
	EVP_MD_CTX_free(w->md);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

int depot_blob_commit(struct depot_blob *w, const char *expected, struct err **err)
{
	char got[IMAGE_DIGEST_SIZE];
	md_finish(w->md, got);
	if (strcmp(got, expected) != 0) {
		depot_blob_abort(w);
		return err_set(err, 0,
			       "blob %.19s..: digest mismatch (got %.19s..): the data was corrupted "
			       "on the way; try again",
			       expected, got);
	}
	close(w->fd);
	w->fd = -1;
	_cleanup_free_ char *final = depot_blob_path(w->depot, expected);
	int r = depot_install(w->tmp_path, final, err);
	free(w->tmp_path);
	w->tmp_path = NULL; /* installed or deleted by depot_install */
	depot_blob_abort(w);
	return r;
}

int depot_blob_put(const struct image_depot *d, const void *data, size_t len,
		   const char *expected, struct err **err)
{
	struct depot_blob w;
	if (depot_blob_begin(d, &w, err) < 0 || depot_blob_write(&w, data, len, err) < 0) {
		depot_blob_abort(&w);
		return -1;
	}
	return depot_blob_commit(&w, expected, err);
}

int depot_read_file(const char *path, size_t max, char **text, size_t *len, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "%s is not a regular file", path);
	if ((unsigned long long)st.st_size > max)
		return err_set(err, 0, "%s is too large (%lld bytes, at most %zu allowed)", path,
			       (long long)st.st_size, max);
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max + 1) {
				free(buf);
				return err_set(err, 0, "%s grew past %zu bytes while being read",
					       path, max);
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int saved = errno;
			free(buf);
			return err_set(err, saved, "cannot read %s", path);
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}
