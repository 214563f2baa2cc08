/*
 * layer_entries: the in-memory plan of one layer tar, shared by the layer
 * builder's parts (internal to artifacts/layer_*.c).
 *
 *   layer_walk.c   spec -> entries (stat only, never file content)
 *   layer_tar.c    entries -> sorted list with parents -> tar stream
 *   layer_build.c  cache key over the entries, caches, store
 *
 * An entry's name is its container path: relative, '/'-separated, without
 * empty, "." or ".." components and without leading or trailing '/'.
 * Every string is heap-owned by the entry.
 */
#ifndef ARTIFACTS_LAYER_ENTRIES_H
#define ARTIFACTS_LAYER_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "core/spec.h"

struct err;

enum entry_type {
	ENTRY_FILE,
	ENTRY_DIR,
	ENTRY_SYMLINK,
};

struct layer_entry {
	char *name;
	enum entry_type type;
	char *source;      /* ENTRY_FILE: host file to copy; NULL: empty file */
	char *target;      /* ENTRY_SYMLINK */
	struct stat st;    /* host stat of the source; valid when has_st */
	bool has_st;
	mode_t mode;       /* permission bits to write */
	int64_t mtime;     /* seconds */
	bool implicit;     /* a parent directory nobody named */
};

struct entry_list {
	struct layer_entry *v;
	size_t n, cap;
};

/* Appends an entry (strings copied; source/target may be NULL) and returns
 * it for the caller to fill in the rest. */
struct layer_entry *entry_list_add(struct entry_list *l, const char *name,
				   enum entry_type type, const char *source,
				   const char *target);
void entry_list_release(struct entry_list *l);

/* Sorts by name, adds the missing parent directories and removes exact
 * duplicates; an error names a path that is given two different ways
 * (e.g. a file and a directory). */
int entry_list_finish(struct entry_list *l, struct err **err);

/* Turns a path into a container name (see above). "" for the root.
 * A ".." component is an error. */
int container_name(const char *path, char **out, struct err **err);

/* Collects the entries of a non-tar layer. project_dir: absolute or
 * relative to the cwd. libs: for shared-library-dependencies, the closure
 * (ldd.h) already computed by the caller; ignored otherwise. */
int layer_collect(const struct layer_spec *spec, const char *project_dir,
		  char *const *libs, size_t n_libs, struct entry_list *out,
		  struct err **err);

/* Streams the finished list as a tar into fd (not closed). files_read is
 * incremented per file whose content is copied. A source that changed
 * since it was stat'ed is an error. */
int layer_tar_write(const struct entry_list *l, int fd, unsigned long long *files_read,
		    struct err **err);

#endif
