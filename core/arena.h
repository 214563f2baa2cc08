/*
 * arena: a bump allocator for many small strings and arrays freed together.
 *
 *     struct arena a;
 *     arena_init(&a);
 *     char **argv = arena_alloc(&a, (argc + 1) * sizeof(*argv), _Alignof(char *));
 *     argv[0] = arena_strdup(&a, program);
 *     char *opts = arena_sprintf(&a, "lowerdir=%s", dirs);
 *     ...
 *     arena_release(&a);   frees everything at once
 *
 * Memory comes from chunks of growing size (4 KiB doubling up to 1 MiB; a
 * larger request gets a chunk of its own). Chunks are never moved or resized,
 * so every pointer stays valid until arena_release. Memory is zero-filled.
 * Nothing is freed individually. The container mount plan is built in one
 * arena so that the child after clone needs no allocation.
 *
 * Allocation failure aborts (out of memory); no function here fails otherwise.
 */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;   /* chunk being filled; older ones follow */
	size_t next_size;           /* size of the next ordinary chunk */
	size_t total;               /* bytes handed out, for statistics */
};

/* Makes an empty arena (no allocation until the first request). */
void arena_init(struct arena *a);

/* Frees every chunk; the arena is empty again and may be reused. */
void arena_release(struct arena *a);

/* Returns `size` zeroed bytes aligned to `align` (a power of two; 0 means
 * alignof(max_align_t)). size 0 returns a valid, unique pointer. */
void *arena_alloc(struct arena *a, size_t size, size_t align);

/* Copies n bytes into the arena (aligned for any type). */
void *arena_memdup(struct arena *a, const void *p, size_t n);

/* Copies a NUL-terminated string. */
char *arena_strdup(struct arena *a, const char *s);

/* Copies at most n bytes of s (stopping at a NUL) and terminates the copy. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* Formats into the arena. */
char *arena_sprintf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vsprintf(struct arena *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Bytes handed out so far (sum of requested sizes). */
size_t arena_used(const struct arena *a);

#endif
