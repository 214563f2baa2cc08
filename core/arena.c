#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CHUNK (4u << 10)
#define MAX_CHUNK (1u << 20)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->next_size = FIRST_CHUNK;
	a->total = 0;
}

void arena_release(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	arena_init(a);
}

static struct arena_chunk *chunk_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct arena_chunk))
		abort(); /* size overflow: no allocation could satisfy it */
	struct arena_chunk *c = calloc(1, sizeof(*c) + size);
	if (!c)
		abort(); /* out of memory */
	c->size = size;
	return c;
}

/* Bytes of padding needed at c's fill point for `align`, or SIZE_MAX if
 * size bytes would not fit. */
static size_t fit(const struct arena_chunk *c, size_t size, size_t align)
{
	if (!c)
		return SIZE_MAX;
	uintptr_t at = (uintptr_t)(c->data + c->used);
	size_t pad = (size_t)(-at & (align - 1));
	if (pad > c->size - c->used || size > c->size - c->used - pad)
		return SIZE_MAX;
	return pad;
}

void *arena_alloc(struct arena *a, size_t size, size_t align)
{
	if (align == 0)
		align = alignof(max_align_t);
	while (align & (align - 1))
		align += align & -align; /* not a power of two: round up to one */
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - align)
		abort(); /* size overflow */

	struct arena_chunk *c = a->head;
	size_t pad = fit(c, size, align);
	if (pad == SIZE_MAX) {
		size_t need = size + align;
		if (need > a->next_size / 2) {
			/* Big request: a chunk of its own, behind the one being filled. */
			c = chunk_new(need);
			if (a->head) {
				c->next = a->head->next;
				a->head->next = c;
			} else {
				a->head = c;
			}
		} else {
			c = chunk_new(a->next_size);
			c->next = a->head;
			a->head = c;
			if (a->next_size < MAX_CHUNK)
				a->next_size *= 2;
		}
		pad = fit(c, size, align);
	}
	void *p = c->data + c->used + pad;
	c->used += pad + size;
	a->total += size;
	return p;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n, 0);
	if (n)
		memcpy(q, p, n);
	return q;
}

static char *copy_str(struct arena *a, const char *s, size_t len)
{
	char *q = arena_alloc(a, len + 1, 1);
	memcpy(q, s, len);
	q[len] = '\0';
	return q;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	return copy_str(a, s, strnlen(s, n));
}

char *arena_strdup(struct arena *a, const char *s)
{
	return copy_str(a, s, strlen(s));
}

char *arena_vsprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	if (n < 0) {
		/* Output over INT_MAX bytes or a bad conversion: an empty string. */
		va_end(again);
		return arena_alloc(a, 1, 1);
	}
	char *q = arena_alloc(a, (size_t)n + 1, 1);
	vsnprintf(q, (size_t)n + 1, fmt, again);
	va_end(again);
	return q;
}

char *arena_sprintf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *q = arena_vsprintf(a, fmt, ap);
	va_end(ap);
	return q;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}
