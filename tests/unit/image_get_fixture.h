/*
 * Shared fixture of the image_get unit tests (test_image_depot.c: oci: and
 * oci-archive: images; test_image_registry.c: docker:// images from a fake
 * registry): a small two-layer image built in memory, written out as an OCI
 * image layout or an oci-archive tar, and a reader listing a flattened
 * tar's entries. (image_fixture.h is the image format tests' fixture.)
 *
 * The image:
 *   layer 1 (plain tar):  etc/  etc/hello ("hello\n")  etc/gone ("bye\n")
 *   layer 2 (gzip tar):   etc/.wh.gone  bin/  bin/tool ("#!tool\n")
 *   config:               Env PATH=/bin, GREETING=hi; WorkingDir /work
 *   manifest:             OCI image manifest of the above
 *   index:                an OCI index with the manifest for this machine
 *                         and a bogus entry for another architecture
 * so the flattened image is exactly etc/, etc/hello, bin/, bin/tool.
 *
 * Each test program includes this once; helpers are marked unused.
 */
#ifndef TESTS_UNIT_IMAGE_GET_FIXTURE_H
#define TESTS_UNIT_IMAGE_GET_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/image_depot.h"
#include "artifacts/image_manifest.h"

#define FX_FLAT_ENTRIES "bin/,bin/tool,etc/,etc/hello"

struct fx_blob {
	char digest[IMAGE_DIGEST_SIZE];
	char *data;
	size_t len;
};

struct fx_image {
	struct fx_blob layers[2];
	struct fx_blob config;
	struct fx_blob manifest;
	struct fx_blob index;
};

struct fx_entry {
	const char *name;
	const char *content; /* NULL: a directory */
};

static __attribute__((unused)) void fx_blob_set(struct fx_blob *b, char *data, size_t len)
{
	b->data = data;
	b->len = len;
	image_sha256_digest(data, len, b->digest);
}

static __attribute__((unused)) void fx_blob_text(struct fx_blob *b, char *text)
{
	fx_blob_set(b, text, strlen(text));
}

/* A tar (gzip-compressed when gzip) of the entries, in memory. */
static __attribute__((unused)) void fx_tar(const struct fx_entry *e, size_t n, int gzip,
					   struct fx_blob *out)
{
	size_t cap = 1 << 20, used = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	if (gzip)
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, e[i].name);
		archive_entry_set_mtime(ent, 1700000000, 0);
		if (e[i].content) {
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_perm(ent, 0755);
			archive_entry_set_size(ent, (la_int64_t)strlen(e[i].content));
		} else {
			archive_entry_set_filetype(ent, AE_IFDIR);
			archive_entry_set_perm(ent, 0755);
		}
		assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
		if (e[i].content)
			assert_int_equal(archive_write_data(a, e[i].content, strlen(e[i].content)),
					 (la_ssize_t)strlen(e[i].content));
		archive_entry_free(ent);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	fx_blob_set(out, buf, used);
}

static __attribute__((unused)) char *fx_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

static __attribute__((unused)) void fx_image_build(struct fx_image *img)
{
	static const struct fx_entry l1[] = {
		{ "etc/", NULL },
		{ "etc/hello", "hello\n" },
		{ "etc/gone", "bye\n" },
	};
	static const struct fx_entry l2[] = {
		{ "etc/.wh.gone", "" },
		{ "bin/", NULL },
		{ "bin/tool", "#!tool\n" },
	};
	memset(img, 0, sizeof(*img));
	fx_tar(l1, 3, 0, &img->layers[0]);
	fx_tar(l2, 3, 1, &img->layers[1]);
	fx_blob_text(&img->config,
		     fx_printf("{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Env\":"
			       "[\"PATH=/bin\",\"GREETING=hi\"],\"WorkingDir\":\"/work\"},"
			       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
			       image_platform_arch()));
	fx_blob_text(&img->manifest,
		     fx_printf("{\"schemaVersion\":2,"
			       "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			       "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			       "\"digest\":\"%s\",\"size\":%zu},\"layers\":["
			       "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
			       "\"digest\":\"%s\",\"size\":%zu},"
			       "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
			       "\"digest\":\"%s\",\"size\":%zu}]}",
			       img->config.digest, img->config.len, img->layers[0].digest,
			       img->layers[0].len, img->layers[1].digest, img->layers[1].len));
	const char *other = strcmp(image_platform_arch(), "s390x") == 0 ? "riscv64" : "s390x";
	fx_blob_text(&img->index,
		     fx_printf("{\"schemaVersion\":2,"
			       "\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
			       "\"manifests\":["
			       "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			       "\"digest\":\"sha256:%064d\",\"size\":1,"
			       "\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"}},"
			       "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			       "\"digest\":\"%s\",\"size\":%zu,"
			       "\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"}}]}",
			       7, other, img->manifest.digest, img->manifest.len,
			       image_platform_arch()));
}

static __attribute__((unused)) void fx_image_free(struct fx_image *img)
{
	struct fx_blob *all[] = { &img->layers[0], &img->layers[1], &img->config, &img->manifest,
				  &img->index };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->data);
	memset(img, 0, sizeof(*img));
}

static __attribute__((unused)) void fx_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static __attribute__((unused)) void fx_write_blob(const char *dir, const struct fx_blob *b)
{
	char *p = fx_printf("%s/blobs/sha256/%s", dir, b->digest + 7);
	fx_write_file(p, b->data, b->len);
	free(p);
}

/* An OCI image layout at dir (created) holding the image, named ref. */
static __attribute__((unused)) void fx_write_layout(const struct fx_image *img, const char *dir,
						    const char *ref)
{
	char *p;
	assert_int_equal(mkdir(dir, 0755), 0);
	p = fx_printf("%s/blobs", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = fx_printf("%s/blobs/sha256", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	fx_write_blob(dir, &img->layers[0]);
	fx_write_blob(dir, &img->layers[1]);
	fx_write_blob(dir, &img->config);
	fx_write_blob(dir, &img->manifest);
	p = fx_printf("%s/oci-layout", dir);
	fx_write_file(p, "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	free(p);
	char *index = fx_printf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
				"\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
				"\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":"
				"\"%s\"}}]}",
				img->manifest.digest, img->manifest.len, ref);
	p = fx_printf("%s/index.json", dir);
	fx_write_file(p, index, strlen(index));
	free(p);
	free(index);
}

static __attribute__((unused)) void fx_archive_add(struct archive *a, const char *path,
						   const char *name)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	struct archive_entry *ent = archive_entry_new();
	archive_entry_set_pathname(ent, name);
	archive_entry_set_mtime(ent, 1700000000, 0);
	archive_entry_set_perm(ent, 0755);
	if (S_ISDIR(st.st_mode)) {
		archive_entry_set_filetype(ent, AE_IFDIR);
		assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
	} else {
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_size(ent, st.st_size);
		assert_int_equal(archive_write_header(a, ent), ARCHIVE_OK);
		char *buf = malloc((size_t)st.st_size + 1);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
		close(fd);
		assert_int_equal(archive_write_data(a, buf, (size_t)st.st_size), st.st_size);
		free(buf);
	}
	archive_entry_free(ent);
}

/* An oci-archive: the layout fx_write_layout makes at scratch, as a tar at
 * tar_path. */
static __attribute__((unused)) void fx_write_archive(const struct fx_image *img, const char *scratch,
						     const char *tar_path, const char *ref)
{
	fx_write_layout(img, scratch, ref);
	struct archive *a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, tar_path), ARCHIVE_OK);
	const char *names[] = { "oci-layout", "index.json", "blobs", "blobs/sha256" };
	for (size_t i = 0; i < 4; i++) {
		char *p = fx_printf("%s/%s", scratch, names[i]);
		fx_archive_add(a, p, names[i]);
		free(p);
	}
	const struct fx_blob *blobs[] = { &img->layers[0], &img->layers[1], &img->config,
					  &img->manifest };
	for (size_t i = 0; i < 4; i++) {
		char *p = fx_printf("%s/blobs/sha256/%s", scratch, blobs[i]->digest + 7);
		char *n = fx_printf("blobs/sha256/%s", blobs[i]->digest + 7);
		fx_archive_add(a, p, n);
		free(p);
		free(n);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static int fx_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted entry names of a tar, ',' joined, "./" stripped, directories
 * with a trailing '/'. Heap string. */
static __attribute__((unused)) char *fx_tar_names(const char *tar_path)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_all(a);
	archive_read_support_filter_all(a);
	assert_int_equal(archive_read_open_filename(a, tar_path, 16384), ARCHIVE_OK);
	char *names[64];
	size_t n = 0;
	struct archive_entry *ent;
	while (archive_read_next_header(a, &ent) == ARCHIVE_OK && n < 64) {
		const char *p = archive_entry_pathname(ent);
		while (p[0] == '.' && p[1] == '/')
			p += 2;
		size_t len = strlen(p);
		while (len > 0 && p[len - 1] == '/')
			len--;
		if (len == 0)
			continue; /* the root itself */
		bool dir = archive_entry_filetype(ent) == AE_IFDIR;
		names[n++] = fx_printf("%.*s%s", (int)len, p, dir ? "/" : "");
	}
	archive_read_free(a);
	qsort(names, n, sizeof(names[0]), fx_cmp_str);
	size_t total = 1;
	for (size_t i = 0; i < n; i++)
		total += strlen(names[i]) + 1;
	char *out = calloc(1, total);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, names[i]);
		free(names[i]);
	}
	return out;
}

/* Counts the entries of a directory (not . and ..); -1 when it is missing. */
static __attribute__((unused)) int fx_count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

#endif
