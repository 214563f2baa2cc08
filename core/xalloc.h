/*
 * xalloc: allocation that cannot fail. Each function is its libc namesake
 * except that running out of memory aborts the process (the project's rule:
 * there is nothing sane left to do), so callers never check for NULL.
 *
 * Zero sizes are rounded up to one byte, so a successful call never
 * returns NULL. Everything returned is heap memory the caller frees with
 * free().
 */
#ifndef CORE_XALLOC_H
#define CORE_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* malloc(n). */
void *xmalloc(size_t n);

/* calloc(n, size): zeroed memory for n objects of size bytes. */
void *xcalloc(size_t n, size_t size);

/* realloc(p, n); p may be NULL. */
void *xrealloc(void *p, size_t n);

/* strdup(s); s must not be NULL. */
char *xstrdup(const char *s);

/* strdup(s), or NULL when s is NULL. */
char *xstrdup_or_null(const char *s);

/* strndup(s, n): at most n bytes of s, NUL-terminated. */
char *xstrndup(const char *s, size_t n);

/* The printf-formatted text as a heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The same with a va_list (which it consumes). */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
