/*
 * extract_internal: the extractor state shared by extract.c (the tar loop and
 * one function per entry type) and extract_fs.c (names, directory
 * resolution, the final directory pass). Not for other modules, except that
 * image_flatten (artifacts/image_flatten_entry.c) reads tar names with
 * extract_normalize, so both agree on what a name means.
 */
#ifndef ARTIFACTS_EXTRACT_INTERNAL_H
#define ARTIFACTS_EXTRACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "artifacts/extract.h"
#include "core/err.h"

/* Allocation unit assumed by the disk usage estimate. */
#define EXTRACT_BLOCK 4096u

struct dir_record {
	char *path;   /* normalized, "" for the layer root */
	mode_t mode;  /* permission bits from the tar, or 0755 when implicit */
	bool has_mtime;
	struct timespec mtime;
	size_t seq;   /* order of appearance: a later record wins */
	size_t depth; /* number of components */
};

struct extractor {
	const char *tar;     /* for messages */
	const char *entry;   /* raw name of the entry being extracted */
	int root;            /* destination directory, O_RDONLY */
	bool no_openat2;     /* kernel without openat2: walk instead */
	char *parent_path;   /* cached parent directory... */
	int parent_fd;       /* ...and its O_PATH descriptor, or -1 */
	struct dir_record *dirs;
	size_t ndirs, dirs_cap, seq;
	struct extract_stats stats;
};

/* Why a directory could not be resolved. */
enum resolve_fail {
	RESOLVE_FAIL_SYMLINK, /* a component is a symbolic link */
	RESOLVE_FAIL_NOTDIR,  /* a component is not a directory */
	RESOLVE_FAIL_MISSING, /* a component does not exist (and create was off) */
	RESOLVE_FAIL_ERRNO,   /* a system call failed */
};

struct resolve_error {
	enum resolve_fail kind;
	int errnum;
	char *where; /* the failing prefix, caller frees */
};

enum name_check {
	NAME_OK,
	NAME_EMPTY,
	NAME_ABSOLUTE,
	NAME_DOTDOT,
	NAME_TOO_LONG,
};

/* Normalizes a tar name: drops "." components and repeated slashes, refuses
 * absolute names and "..". The layer root normalizes to "". On NAME_OK *out
 * is allocated (caller frees). */
enum name_check extract_normalize(const char *raw, char **out);

/* Number of components of a normalized path ("" has none). */
size_t extract_path_depth(const char *path);

/* Splits "a/b/c" into parent "a/b" (returned, caller frees) and name "c"
 * (points into path). The parent of "c" is "". */
char *extract_split_parent(const char *path, const char **name);

/* True if the relative symlink target, seen from directory `dir` (a
 * normalized path), climbs above the layer root. Purely lexical. */
bool extract_link_climbs(const char *dir, const char *target);

/* Remembers a directory for the final pass (mtime may be NULL). */
void extract_record_dir(struct extractor *x, const char *path, mode_t mode,
			const struct timespec *mtime);

/* Opens the directory `path` (normalized, "" = root) as an O_PATH descriptor
 * (caller closes) without following any symlink. With create, missing
 * components are made (0755, recorded for the final pass). On failure
 * returns -1 and fills *why (caller frees why->where, or passes it to
 * extract_parent_error). */
int extract_resolve_dir(struct extractor *x, const char *path, bool create,
			struct resolve_error *why);

/* The error for an entry whose parent directory cannot be used; frees
 * why->where. Returns -1. */
int extract_parent_error(struct extractor *x, struct resolve_error *why, struct err **err);

/* Gives every recorded directory its final (read-only) mode and its mtime,
 * deepest first. */
int extract_finish_dirs(struct extractor *x, struct err **err);

#endif
