/*
 * offload: run blocking work (building or extracting big tar files, hashing
 * big files) in a forked child, so the reactor's process never blocks.
 *
 *     static int hash_file(void *arg, struct buf *result, struct err **err)
 *     {   ... blocking work in the child ...
 *         buf_appendf(result, "%s", hex);  return 0;   or return err_set(...)
 *     }
 *     static void hashed(struct reactor *r, int status, const char *data,
 *                        size_t len, void *arg) { ... }
 *     struct offload *o = offload_start(r, hash_file, path, hashed, job, &err);
 *     if (!o) ...report err...
 *
 * The child is a fork of the caller: fn sees a copy of the parent's memory,
 * so arg can point at anything. Before fn runs, the child unblocks every
 * signal and resets every disposition to the default (undoing what the
 * reactor's signalfd needed); it must not and does not touch the reactor or
 * its io_uring. It sends back one message over a pipe, either the result
 * bytes fn appended (at most OFFLOAD_MAX_RESULT) or the error message, then
 * _exit()s: no atexit handlers, no stdio flush.
 *
 * The parent reads the pipe through the reactor and watches the child's
 * pidfd. Once the child has been reaped and its message read, done() runs
 * exactly once, from a reactor callback:
 *     status 0:  data/len are the result bytes (NUL-terminated, may be empty);
 *     status -1: data is a NUL-terminated message for users, e.g. the error
 *                fn set, or "offloaded work died with signal 9 (Killed)".
 * data is only valid during done(). The handle is freed when done() returns.
 *
 * offload_cancel() kills the child with SIGKILL and guarantees done() is never
 * called; the reactor still reaps the child, then frees the handle. Cancel
 * (or finish) every offload before reactor_free, or the child stays a zombie
 * until this process exits.
 */
#ifndef CORE_OFFLOAD_H
#define CORE_OFFLOAD_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/reactor.h"

/* Largest result a child may send back. */
#define OFFLOAD_MAX_RESULT (64u << 10)

struct offload;

/* Runs in the child. Appends the result to *result and returns 0, or returns
 * -1 with *err set. */
typedef int offload_fn(void *arg, struct buf *result, struct err **err);

/* Runs in the parent, once, from a reactor callback; see above. */
typedef void offload_done_cb(struct reactor *r, int status, const char *data,
			     size_t len, void *done_arg);

/* Forks a child running fn(arg). Returns a handle, usable with
 * offload_cancel until done() is called (callers that never cancel may ignore
 * it). On failure returns NULL with *err set; no child is left and done() is
 * never called. */
struct offload *offload_start(struct reactor *r, offload_fn *fn, void *arg,
			      offload_done_cb *done, void *done_arg, struct err **err);

/* Kills the child (SIGKILL); done() will not be called. Must not be called
 * from inside done() or after it, when the handle is gone. Safe on NULL. */
void offload_cancel(struct offload *o);

#endif
