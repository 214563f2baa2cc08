/*
 * strv: NULL-terminated arrays of heap strings ("string vectors"), the shape
 * execve wants for argv and envp. A strv owns its strings; strv_free frees
 * both. All functions abort on out-of-memory, like the rest of the project.
 */
#ifndef CORE_STRV_H
#define CORE_STRV_H

#include <stddef.h>

/* Number of strings before the terminating NULL; 0 for NULL. */
size_t strv_len(const char *const *v);

/* Deep copy; strv_dup(NULL) returns an empty vector. */
char **strv_dup(const char *const *v);

/* A new vector: first, then n strings from rest. */
char **strv_prepend(const char *first, const char *const *rest, size_t n);

/* Appends a copy of s, reallocating; returns the (possibly moved) vector. */
char **strv_push(char **v, const char *s);

/* Frees every string and the array. Safe on NULL. */
void strv_free(char **v);

#endif
