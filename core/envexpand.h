/*
 * envexpand: computing a job's environment from its `environment` elements,
 * as the book's spec.md describes.
 *
 * The candidate map starts as `initial` (the image's environment when the
 * image has a `use` of `environment`, else empty). Each element in turn:
 *
 *   1. expands every value against the client's environment and the
 *      candidate map as it stood before this element:
 *          $env{X}          the client's X; an error when X is unset
 *          $env{X:-text}    the client's X, or text when X is unset
 *          $prev{X}         the candidate map's X; an error when unset
 *          $prev{X:-text}   the candidate map's X, or text when unset
 *      The default text may itself hold $env{} / $prev{} forms (expanded
 *      only when used) and balanced braces. A `$` that does not start one
 *      of these forms is copied as it is: "$$", "$HOME", "a$" stay literal
 *      (a `$$` is copied whole, so "$$env{X}" is literal too). `${X}`
 *      and `$word{...}` forms other than env and prev are errors (they are
 *      almost always a shell habit), and so is a form missing its `}`.
 *   2. merges the expanded map into the candidate map (extend = true:
 *      its variables overwrite, the rest stay) or replaces the candidate
 *      map with it (extend = false).
 *
 * Variable names in an element must be non-empty and hold no `=`.
 * Errors name the element and variable, e.g.
 *     environment[0].FOO: $env{HOME2} is not set in the client's
 *     environment; set it or write $env{HOME2:-default}
 *
 * Ownership: env_compute() returns a heap array of heap "K=V" strings,
 * sorted by name and NULL-terminated; free it with env_free().
 */
#ifndef CORE_ENVEXPAND_H
#define CORE_ENVEXPAND_H

#include <stddef.h>

#include "core/err.h"
#include "core/spec.h"

/* Computes the environment of specs[0..n). initial and client_env are
 * NULL-terminated "K=V" lists, or NULL for none; entries without `=` are
 * ignored, and in initial a later duplicate wins (in client_env the first,
 * as getenv does). On success stores the result in *out. */
int env_compute(const struct env_spec *specs, size_t n, char *const *initial,
		char *const *client_env, char ***out, struct err **err);

/* Frees an array returned by env_compute(). Safe on NULL. */
void env_free(char **envp);

/* The value of name in the NULL-terminated "K=V" list envp (first match),
 * or NULL when it is absent or envp is NULL. Points into envp. */
const char *env_lookup(char *const *envp, const char *name);

#endif
