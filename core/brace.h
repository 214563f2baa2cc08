/*
 * brace: shell-style brace expansion, used by the `stubs` layer kind.
 *
 * One pattern becomes a list of strings, the way bash (and the bracoxide
 * crate the book names) expand braces:
 *
 *     "/dev/{null,zero}"     -> "/dev/null", "/dev/zero"
 *     "a{b,c{d,e}}f"         -> "abf", "acdf", "acef"       (nesting)
 *     "{a,b}{1,2}"           -> "a1", "a2", "b1", "b2"       (left to right)
 *     "x{1..3}"              -> "x1", "x2", "x3"             (integer range)
 *     "{01..03}"             -> "01", "02", "03"             (zero padding kept)
 *     "a{,b}"                -> "a", "ab"                    (empty alternative)
 *     "{a}" "{}"             -> themselves: no comma, no range, no expansion
 *
 * As the book says, only a string holding a `{` is expanded at all: any
 * other string comes back unchanged, as the single result.
 *
 * A group with neither a top-level comma nor a range stays literal,
 * braces included, but groups inside it still expand ("{a{b,c}}" gives
 * "{ab}", "{ac}"). A backslash before `{`, `}`, `,` or `\` makes that
 * character literal and is removed; other backslashes are kept as they are.
 * Braces must balance: an unmatched `{` or `}` is an error naming its
 * column (1-based byte offset). A pattern may not expand to more than
 * BRACE_MAX_RESULTS strings.
 *
 * Ownership: the list and its strings belong to the caller, who releases
 * them with brace_list_release().
 */
#ifndef CORE_BRACE_H
#define CORE_BRACE_H

#include <stddef.h>

#include "core/err.h"

#define BRACE_MAX_RESULTS 65536

struct brace_list {
	char **v;   /* n strings, then NULL */
	size_t n;
};

/* Expands pattern into out (which need not be initialised). On failure out
 * is left empty and *err says what is wrong and where. */
int brace_expand(const char *pattern, struct brace_list *out, struct err **err);

/* Frees the strings and the array and empties the list. Safe on an empty
 * or zeroed list. */
void brace_list_release(struct brace_list *l);

#endif
