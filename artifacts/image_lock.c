/*
 * image_lock: reading and updating the container tags lock file; see
 * image_lock.h.
 */
#include "artifacts/image_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/image_depot.h"
#include "artifacts/image_manifest.h"
#include "core/cleanup.h"
#include "core/fdio.h"
#include "core/xalloc.h"

#define LOCK_FILE_MAX (16u << 20)

static const char header[] =
	"# maelstrom-container-tags.lock: the digest each container image tag resolved to.\n"
	"# Commit this file so that everyone runs the same images. Delete a line to\n"
	"# resolve that tag again on the next run.\n";

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A "..." string without escapes; *p moves past the closing quote. */
static char *quoted(const char **p, const char *end)
{
	const char *s = *p;
	if (s >= end || *s != '"')
		return NULL;
	s++;
	const char *q = s;
	while (q < end && *q != '"' && *q != '\\')
		q++;
	if (q >= end || *q != '"')
		return NULL;
	*p = q + 1;
	return xstrndup(s, (size_t)(q - s));
}

/* One non-blank, non-comment line: `"KEY" = "DIGEST"` and maybe a comment. */
static bool parse_entry(const char *p, const char *end, struct image_lock_entry *out)
{
	_cleanup_free_ char *key = quoted(&p, end);
	if (!key || strncmp(key, "docker://", 9) != 0 || !key[9])
		return false;
	p = skip_ws(p, end);
	if (p >= end || *p != '=')
		return false;
	p = skip_ws(p + 1, end);
	_cleanup_free_ char *digest = quoted(&p, end);
	if (!digest || !image_digest_valid(digest))
		return false;
	p = skip_ws(p, end);
	if (p < end && *p != '#')
		return false;
	out->key = steal_pointer(&key);
	out->digest = steal_pointer(&digest);
	return true;
}

static int parse_text(const char *path, const char *text, size_t len, struct image_lock *out,
		      struct err **err)
{
	size_t cap = 0, line_no = 0;
	const char *end = text + len;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *lend = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		line_no++;
		const char *p = skip_ws(line, lend);
		const char *e = lend;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (p == e || *p == '#') {
			line = next;
			continue;
		}
		struct image_lock_entry ent;
		if (!parse_entry(p, e, &ent)) {
			int n = (int)(e - p);
			return err_set(err, 0,
				       "%s:%zu: cannot read `%.*s%s`: a line is "
				       "\"docker://NAME:TAG\" = \"sha256:HEX\"; delete the line "
				       "and the tag is resolved again",
				       path, line_no, n > 80 ? 80 : n, p, n > 80 ? "..." : "");
		}
		if (out->n == cap) {
			cap = cap ? 2 * cap : 8;
			out->entries = xrealloc(out->entries, cap * sizeof(*out->entries));
		}
		out->entries[out->n++] = ent;
		line = next;
	}
	return 0;
}

/* The file's text, or NULL (and 0) when it does not exist. */
static int read_text(const char *path, char **text, size_t *len, struct err **err)
{
	*text = NULL;
	*len = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	return depot_read_file(path, LOCK_FILE_MAX, text, len, err);
}

int image_lock_read(const char *path, struct image_lock *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_text(path, &text, &len, err) < 0)
		return err_wrap(err, "cannot read the container tags lock file");
	if (text && parse_text(path, text, len, out, err) < 0) {
		image_lock_release(out);
		return -1;
	}
	return 0;
}

const char *image_lock_find(const struct image_lock *l, const char *key)
{
	for (size_t i = l->n; i > 0; i--)
		if (strcmp(l->entries[i - 1].key, key) == 0)
			return l->entries[i - 1].digest;
	return NULL;
}

void image_lock_release(struct image_lock *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->entries[i].key);
		free(l->entries[i].digest);
	}
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

/* Writes text to a temporary beside path and renames it over path. */
static int replace_file(const char *path, const char *text, size_t len, mode_t mode,
			struct err **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot create a temporary file beside %s", path);
	if (fd_write_all(fd, text, len) < 0 || fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot rename %s to %s", tmp, path);
	}
	return 0;
}

static int open_locked_dir(const char *path, struct err **err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open the directory %s of %s", dir, path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int saved = errno;
			close(fd);
			return err_set(err, saved, "cannot lock the directory %s", dir);
		}
	}
	return fd;
}

static int add_locked(const char *path, const char *key, const char *digest, struct err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (read_text(path, &text, &len, err) < 0)
		return -1;
	struct image_lock l = { 0 };
	if (text && parse_text(path, text, len, &l, err) < 0) {
		image_lock_release(&l);
		return -1;
	}
	bool pinned = image_lock_find(&l, key) != NULL;
	image_lock_release(&l);
	if (pinned)
		return 0;

	mode_t mode = 0644;
	struct stat st;
	if (text && stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	const char *before = text ? text : header;
	size_t before_len = text ? len : strlen(header);
	bool need_nl = before_len > 0 && before[before_len - 1] != '\n';
	_cleanup_free_ char *full = xasprintf("%.*s%s\"%s\" = \"%s\"\n", (int)before_len, before,
					      need_nl ? "\n" : "", key, digest);
	return replace_file(path, full, strlen(full), mode, err);
}

int image_lock_add(const char *path, const char *key, const char *digest, struct err **err)
{
	if (strchr(key, '"') || strchr(key, '\\') || strchr(key, '\n'))
		return err_set(err, 0, "cannot pin `%s` in %s: the name holds a quote, a backslash "
				       "or a newline", key, path);
	int dfd = open_locked_dir(path, err);
	if (dfd < 0)
		return err_wrap(err, "cannot update the container tags lock file");
	int r = add_locked(path, key, digest, err);
	close(dfd); /* drops the lock */
	if (r < 0)
		return err_wrap(err, "cannot update the container tags lock file");
	return 0;
}
