/*
 * err: an error object carried up the stack, with context added at each layer.
 *
 * Convention (after crun's libcrun_error_t): a function that can fail takes a
 * trailing `struct err **err` and returns a negative number on failure, after
 * storing a heap-allocated error in *err. Callers either handle it (and call
 * err_free) or add context with err_wrap and return it upwards:
 *
 *     if (fd < 0)
 *         return err_set(err, errno, "cannot open layer tar %s", path);
 *     ...
 *     if (store_add(s, path, &d, err) < 0)
 *         return err_wrap(err, "layer %zu", i);
 *
 * The final message reads outermost context first:
 *     "layer 2: cannot open layer tar /x.tar: No such file or directory".
 *
 * err_set saves errno before formatting, so `err_set(err, errno, ...)` is safe.
 * Passing err == NULL is allowed: the error is then discarded.
 * Setting an error when *err is already set replaces the old one.
 */
#ifndef CORE_ERR_H
#define CORE_ERR_H

struct err {
	int errnum;   /* errno value the error came from, or 0 */
	char msg[];   /* NUL-terminated, already includes strerror(errnum) */
};

/* Records an error. errnum may be 0 (no errno text appended). Returns -1. */
int err_set(struct err **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes "<context>: " to the error in *err. Returns -1. If *err is NULL
 * (a callee forgot to set one), records the context alone. */
int err_wrap(struct err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Frees *err and sets it to NULL. Safe on NULL. */
void err_free(struct err **err);

/* The message, or "(no error)" when e is NULL. */
const char *err_msg(const struct err *e);

#endif
