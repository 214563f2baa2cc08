/*
 * glob: path patterns for the `glob` layer kind and the filter language's
 * `globs` matcher.
 *
 * Syntax (matching is on whole paths, byte strings read as UTF-8; a
 * "character" is one code point, an invalid byte counts as one character):
 *
 *     *        any run of characters except `/` (possibly empty)
 *     ?        one character except `/`
 *     [abc]    one of the listed characters; [a-z] ranges; [!a-z] or [^a-z]
 *              negates. A `]` right after `[` or `[!` is literal, a `-`
 *              first or last is literal, `\` escapes inside. A class never
 *              matches `/`.
 *     {a,b}    one of the comma-separated alternatives; alternatives may
 *              hold `/`, wildcards and further groups; `{,x}` has an empty
 *              alternative.
 *     **       any run of characters including `/`. When it fills a whole
 *              path component followed by `/` (at the start or after `/`,
 *              as in `**` + `/x` or `src/` + `**` + `/x`) the `/` after it is
 *              optional along with it, so it also matches zero directories:
 *              `src/` + `**` + `/x` matches src/x and src/a/b/x. A trailing
 *              `/` + `**` matches everything below the directory (not the
 *              directory itself). `**` alone matches every path.
 *     \c       the character c literally.
 *
 * Everything else matches itself, case-sensitively. Syntax errors (unclosed
 * `[` or `{`, a stray `}`, a reversed range, a trailing `\`) are reported
 * with their column (1-based byte offset).
 *
 * Matching runs the pattern as a nondeterministic automaton over a set of
 * states, so it costs O(path length x pattern size) whatever the pattern:
 * `*a*a*a*a*b` cannot blow up.
 *
 * Ownership: glob_compile() returns a heap object owned by the caller and
 * freed with glob_free(). A compiled glob is immutable; matching allocates
 * only for patterns that compile to more than 128 states.
 */
#ifndef CORE_GLOB_H
#define CORE_GLOB_H

#include <stdbool.h>

#include "core/err.h"

struct glob;

/* Compiles pattern into *out. On a syntax error returns -1, leaves *out
 * NULL and says what is wrong, and at which column, in *err. */
int glob_compile(struct glob **out, const char *pattern, struct err **err);

/* Frees the glob. Safe on NULL. */
void glob_free(struct glob *g);

/* The pattern as given to glob_compile(). */
const char *glob_pattern(const struct glob *g);

/* True when the whole of path matches the pattern. */
bool glob_match(const struct glob *g, const char *path);

/* The leading directories of the pattern that hold no metacharacter, with
 * escapes resolved: "src/a/x*.py" -> "src/a", "a/b/c" -> "a/b", "/x*" ->
 * "/", "*.py" -> "". Every matching path starts with this prefix followed
 * by `/` (or, for "", anything), so a directory walker can start there. */
const char *glob_literal_prefix(const struct glob *g);

/* True when some path strictly below directory dir (dir + "/" + more)
 * could match, so a walker that gets false may skip dir's contents. dir ""
 * means the root of the walk: every path is below it. May answer true
 * for a directory under which nothing matches, never false for one
 * under which something does. */
bool glob_may_match_below(const struct glob *g, const char *dir);

#endif
