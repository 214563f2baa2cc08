/*
 * ldd_elf: the pieces of an ELF file and of the loader cache that ldd.c
 * needs. Internal to ldd.c (and its test); not a general ELF reader.
 *
 * elf_dyn_read reads only the ELF header, the program headers, PT_INTERP,
 * the dynamic section and its string table, all bounds-checked against the
 * file size, so a truncated or hostile file gives an error, never a crash.
 */
#ifndef ARTIFACTS_LDD_ELF_H
#define ARTIFACTS_LDD_ELF_H

#include <stdbool.h>
#include <stddef.h>

struct err;

/* What the loader needs to know about one object. Strings are heap-owned. */
struct elf_dyn {
	char *interp;     /* PT_INTERP, or NULL */
	char *soname;     /* DT_SONAME, or NULL */
	char **needed;    /* DT_NEEDED names, in order */
	size_t n_needed;
	char *rpath;      /* DT_RPATH (NULL when absent or when DT_RUNPATH is set) */
	char *runpath;    /* DT_RUNPATH, or NULL */
	bool nodeflib;    /* DF_1_NODEFLIB: skip the cache and default dirs */
};

enum elf_dyn_result {
	ELF_DYN_OK = 0,
	ELF_DYN_ERROR = -1,      /* *err set: unreadable, truncated, corrupt */
	ELF_DYN_WRONG_ARCH = -2, /* *err set: not ELF64 little-endian x86-64 */
};

/* Reads path's dynamic information into *out (zeroed first). A static
 * binary gives an empty result (no interp, no needed). */
enum elf_dyn_result elf_dyn_read(const char *path, struct elf_dyn *out,
				 struct err **err);

/* Frees the strings and zeroes *d. Safe on a zeroed struct. */
void elf_dyn_release(struct elf_dyn *d);

/* The loader cache, read into memory once. */
struct ld_cache;

/* Loads the cache at path. A missing or unrecognised file gives an empty
 * cache (the loader then just searches the default dirs), never an error. */
struct ld_cache *ld_cache_load(const char *path);
void ld_cache_free(struct ld_cache *c);

/* The path the cache gives for name (an x86-64 libc6 entry with baseline
 * hwcaps), or NULL. Points into the cache. */
const char *ld_cache_lookup(const struct ld_cache *c, const char *name);

#endif
