#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct err *err_alloc(int errnum, const char *text)
{
	size_t n = strlen(text);
	struct err *e = malloc(sizeof(*e) + n + 1);
	if (!e)
		abort(); /* out of memory while reporting an error: nothing sane left */
	e->errnum = errnum;
	memcpy(e->msg, text, n + 1);
	return e;
}

int err_set(struct err **err, int errnum, const char *fmt, ...)
{
	int saved = errnum;
	if (!err)
		return -1;
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (saved) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", text, strerror(saved)) < 0)
			abort();
		free(text);
		text = full;
	}
	free(*err);
	*err = err_alloc(saved, text);
	free(text);
	return -1;
}

int err_wrap(struct err **err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char *ctx = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	struct err *old = *err;
	char *full = NULL;
	if (old) {
		if (asprintf(&full, "%s: %s", ctx, old->msg) < 0)
			abort();
	} else {
		full = ctx;
		ctx = NULL;
	}
	*err = err_alloc(old ? old->errnum : 0, full);
	free(old);
	free(full);
	free(ctx);
	return -1;
}

void err_free(struct err **err)
{
	if (!err)
		return;
	free(*err);
	*err = NULL;
}

const char *err_msg(const struct err *e)
{
	return e ? e->msg : "(no error)";
}
