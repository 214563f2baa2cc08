/*
 * subprocess: run another program as a child and read its output through
 * the reactor, without ever blocking the loop.
 *
 *     const char *argv[] = {"cargo", "metadata", "--format-version", "1", NULL};
 *     struct subprocess_options o = {
 *         .argv = argv, .out = SUBPROCESS_LINES, .err = SUBPROCESS_CAPTURE,
 *         .on_line = got_line, .on_done = finished, .arg = me,
 *     };
 *     if (subprocess_spawn(&me->sp, r, &o, &err) < 0) ...report err...
 *     ... got_line(sp, 1, "{...}", len, me) once per line of stdout ...
 *     ... finished(sp, &status, me) once, at the very end ...
 *     subprocess_free(me->sp);    (may be called from inside either callback)
 *
 * The child is started with posix_spawnp (argv[0] is looked up in PATH),
 * standard input from /dev/null, every signal unblocked and at its default
 * disposition (undoing the reactor's signalfd mask and any SIG_IGN of ours),
 * and every descriptor other than 0, 1 and 2 closed. Its exit is watched
 * through a pidfd that this module owns (not reactor_watch_child), so that
 * subprocess_free can kill and reap the child at once.
 *
 * Each of standard output and error is, by the options:
 *   INHERIT  our own descriptor (the child writes where we write);
 *   NULL     /dev/null;
 *   CAPTURE  a pipe read whole into memory (at most capture_limit bytes;
 *            the rest is read, counted and dropped): subprocess_captured();
 *   LINES    a pipe read line by line: on_line() runs once per line, with
 *            the line's text without its '\n', NUL-terminated. A last line
 *            with no '\n' is delivered at end of file. Lines may be of any
 *            length (they are buffered until complete).
 *
 * on_done() runs exactly once, from a reactor callback, after the child was
 * reaped *and* every pipe reached end of file (so every line was delivered
 * before it). A grandchild that keeps a pipe open delays it. It is not
 * called once subprocess_free() has been called.
 *
 * Ownership: the caller owns the handle from subprocess_spawn until
 * subprocess_free, which may be called at any time, from inside on_line or
 * on_done too (the memory is then released after the callback returns).
 * Freeing a handle whose child still runs kills it with SIGKILL (its whole
 * process group with new_process_group) and reaps it before returning.
 */
#ifndef CORE_SUBPROCESS_H
#define CORE_SUBPROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/reactor.h"

struct subprocess;

/* Where one of the child's output streams goes; see above. */
enum subprocess_mode {
	SUBPROCESS_INHERIT,
	SUBPROCESS_NULL,
	SUBPROCESS_CAPTURE,
	SUBPROCESS_LINES,
};

/* One line of standard output (stream 1) or error (stream 2). */
typedef void subprocess_line_cb(struct subprocess *sp, int stream, const char *line,
				size_t len, void *arg);

/* The end: st tells how the child ended (st->code is -1 if it could not be
 * reaped). */
typedef void subprocess_done_cb(struct subprocess *sp, const struct child_status *st,
				void *arg);

struct subprocess_options {
	const char *const *argv;   /* program and arguments, NULL-terminated */
	const char *const *envp;   /* NULL-terminated environment; NULL: ours */
	const char *cwd;           /* working directory; NULL: ours */
	enum subprocess_mode out;  /* standard output */
	enum subprocess_mode err;  /* standard error */
	size_t capture_limit;      /* CAPTURE: bytes kept per stream; 0: no limit */
	bool new_process_group;    /* child leads a new process group; kills hit
				      the whole group (e.g. cargo and its rustcs) */
	subprocess_line_cb *on_line;  /* required when a stream is LINES */
	subprocess_done_cb *on_done;  /* may be NULL */
	void *arg;
};

/* Starts the child. On failure (no such program, pipe or spawn failure),
 * returns -1 with *err naming the program; no child is left and no callback
 * will run. The strings of *o are copied or used only during the call. */
int subprocess_spawn(struct subprocess **out, struct reactor *r,
		     const struct subprocess_options *o, struct err **err);

/* Sends signo to the child (its group with new_process_group) if it has not
 * been reaped yet; a no-op otherwise. on_done still follows. */
void subprocess_kill(struct subprocess *sp, int signo);

/* The child's process id (still valid as a number after it ended). */
pid_t subprocess_pid(const struct subprocess *sp);

/* What a CAPTURE stream (1 or 2) collected so far, NUL-terminated ("" for
 * other modes); *dropped (when not NULL) gets the bytes beyond the limit.
 * Valid until the next reactor dispatch or subprocess_free. */
const char *subprocess_captured(const struct subprocess *sp, int stream, size_t *len,
				size_t *dropped);

/* Kills (SIGKILL) and reaps the child if it still runs, stops reading, and
 * frees the handle (after the current callback when called from one). Safe
 * on NULL. */
void subprocess_free(struct subprocess *sp);

/* "exited with status 3", "killed by signal 9 (Killed)", or "could not be
 * reaped", written into buf (of size n); returns buf. */
const char *subprocess_status_text(const struct child_status *st, char *buf, size_t n);

#endif
