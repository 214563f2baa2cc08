#include "core/suggest.h"

#include <stdint.h>
#include <string.h>

size_t suggest_distance(const char *a, size_t la, const char *b, size_t lb)
{
	if (la > SUGGEST_MAX_LEN || lb > SUGGEST_MAX_LEN)
		return SIZE_MAX;
	/* Three rows of the table: i - 2 (for swaps), i - 1 and i. */
	size_t rows[3][SUGGEST_MAX_LEN + 1];
	size_t *before = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    before[j - 2] + 1 < best)
				best = before[j - 2] + 1;
			cur[j] = best;
		}
		size_t *oldest = before;
		before = prev;
		prev = cur;
		cur = oldest;
	}
	return prev[lb];
}

const char *suggest_closest(const char *word, const char *const *names, size_t n,
			    size_t max_len)
{
	size_t lw = strlen(word);
	if (lw > max_len)
		return NULL;
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (len > max_len)
			continue;
		size_t limit = len >= 8 ? 3 : len >= 5 ? 2 : 1;
		size_t d = suggest_distance(word, lw, names[i], len);
		if (d <= limit && d < best_d) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}
