/*
 * ldd: the shared libraries a set of dynamically linked programs needs, found
 * the way the glibc dynamic loader finds them, without running anything.
 *
 * Used by the `shared-library-dependencies` layer kind (spec-layers.md): the
 * layer holds the closure of libraries the given binaries load, including the
 * dynamic loader itself, but not the binaries.
 *
 * The ELF files are parsed here (only their headers, program headers and
 * dynamic section are read). Supported: 64-bit little-endian x86-64 ELF;
 * any other binary is rejected with a message. For each object:
 *   - PT_INTERP names the dynamic loader; it is part of the closure, and its
 *     DT_SONAME satisfies the libraries' DT_NEEDED on it;
 *   - every DT_NEEDED name is looked up in the loader's order:
 *       1. a name containing '/' is used as a path as is;
 *       2. DT_RPATH of the requesting object and then of each object that
 *          loaded it, up to the binary (only objects without DT_RUNPATH; an
 *          object that has DT_RUNPATH ignores its DT_RPATH);
 *       3. DT_RUNPATH of the requesting object;
 *       4. /etc/ld.so.cache ("glibc-ld.so.cache1.1" format, x86-64 libc6
 *          entries, baseline hwcaps only), unless DF_1_NODEFLIB;
 *       5. /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, /lib64, /lib,
 *          /usr/lib, unless DF_1_NODEFLIB.
 *     $ORIGIN (the directory of the object: for a binary its real path, for a
 *     library the path it was found at), $LIB and $PLATFORM are expanded in
 *     RPATH/RUNPATH. LD_LIBRARY_PATH is deliberately not consulted: the
 *     layer must not depend on the client's environment.
 *   - candidates of another ELF class or machine are skipped, like the
 *     loader does;
 *   - an object already in the closure (same name, same soname, or same
 *     device and inode) is not added twice.
 * The closure is breadth first: every binary's interpreter, then the
 * binaries' DT_NEEDED in order, then theirs, and so on, so the same inputs
 * give the same order. A static binary contributes nothing.
 *
 * Paths are returned as found (e.g. /lib/x86_64-linux-gnu/libc.so.6 or
 * /lib64/ld-linux-x86-64.so.2), which may be symlinks.
 */
#ifndef ARTIFACTS_LDD_H
#define ARTIFACTS_LDD_H

#include <stddef.h>

struct err;

/* Computes the closure for binaries[0..n). On success *libs is a
 * heap-allocated array of *n_libs heap-allocated absolute paths (release it
 * with ldd_free; *libs may be NULL when *n_libs is 0). Errors name the
 * binary and what is wrong: unreadable or non-x86-64 binary, or a library
 * that cannot be found ("... needs libfoo.so.1 (via /x/libbar.so), which
 * is not in ..."). */
int ldd_closure(const char *const *binaries, size_t n, char ***libs,
		size_t *n_libs, struct err **err);

/* Frees each path and the array. Safe on NULL. */
void ldd_free(char **libs, size_t n);

#endif
