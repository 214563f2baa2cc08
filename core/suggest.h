/*
 * suggest: "did you mean ...?" for a word that is not one of the names a
 * reader knows (field names, container names, filter words). The measure
 * is the optimal-string-alignment distance: inserting, deleting or
 * replacing a byte, or swapping two neighbouring bytes, each cost one.
 *
 * To bound the work, words and names longer than SUGGEST_MAX_LEN bytes are
 * never compared. Nothing here allocates or fails.
 */
#ifndef CORE_SUGGEST_H
#define CORE_SUGGEST_H

#include <stddef.h>

/* The longest word or name compared. */
#define SUGGEST_MAX_LEN 63

/* The distance between a[0..la) and b[0..lb), or SIZE_MAX when either is
 * longer than SUGGEST_MAX_LEN. */
size_t suggest_distance(const char *a, size_t la, const char *b, size_t lb);

/* The name closest to word that is close enough to be a typo of it (at
 * most 1 edit for names under 5 bytes, 2 under 8, else 3), or NULL. Ties
 * go to the earlier name. Neither word nor a name longer than max_len
 * (itself at most SUGGEST_MAX_LEN) is ever matched. */
const char *suggest_closest(const char *word, const char *const *names, size_t n,
			    size_t max_len);

#endif
