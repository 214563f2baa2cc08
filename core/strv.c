#include "core/strv.h"

#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

size_t strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_dup(const char *const *v)
{
	size_t n = strv_len(v);
	char **out = calloc(n + 1, sizeof(*out));
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

char **strv_prepend(const char *first, const char *const *rest, size_t n)
{
	char **out = calloc(n + 2, sizeof(*out));
	if (!out)
		abort();
	out[0] = xstrdup(first);
	for (size_t i = 0; i < n; i++)
		out[i + 1] = xstrdup(rest[i]);
	return out;
}

char **strv_push(char **v, const char *s)
{
	size_t n = strv_len((const char *const *)v);
	char **out = realloc(v, (n + 2) * sizeof(*out));
	if (!out)
		abort();
	out[n] = xstrdup(s);
	out[n + 1] = NULL;
	return out;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}
