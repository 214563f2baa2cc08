/*
 * tty_term: the local terminal and the job's pseudo-terminal, for
 * maelstrom-run --tty.
 *
 * The local side (struct tty_term) is the terminal the user types on. While
 * a session runs it is in raw mode (cfmakeraw: no echo, no line editing, no
 * signals from ^C or ^Z, no output processing), so every key reaches the
 * job and the job's terminal does the echoing. tty_term_restore puts back
 * exactly the mode saved by tty_term_raw, and the file status flags
 * (O_NONBLOCK) the session changed on the local descriptors: the shell that
 * started maelstrom-run shares them and must get them back unchanged. It
 * is idempotent, so every exit path may call it.
 *
 *     struct tty_term t;
 *     tty_term_init(&t, isatty(0) ? 0 : -1);
 *     if (tty_term_raw(&t, err) < 0) ...
 *     ...
 *     tty_term_restore(&t);
 *
 * The job's side is a pseudo-terminal pair from tty_pty_open: the master
 * stays with maelstrom-run, the slave becomes the job's stdin, stdout,
 * stderr and controlling terminal. Its window size follows the local
 * terminal's (80x24 when there is none).
 */
#ifndef RUNNERS_RUN_TTY_TERM_H
#define RUNNERS_RUN_TTY_TERM_H

#include <stdbool.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "core/err.h"

/* The window size used when there is no local terminal. */
#define TTY_DEFAULT_COLS 80
#define TTY_DEFAULT_ROWS 24

/* Descriptors whose status flags a session changes and restores. */
#define TTY_TERM_MAX_FDS 3

struct tty_term {
	int fd;                 /* the local terminal, or -1 when there is none */
	bool raw;               /* in raw mode: `saved` is the mode to put back */
	bool have_saved;        /* `saved` holds the mode found by tty_term_init */
	struct termios saved;
	int flag_fds[TTY_TERM_MAX_FDS];   /* descriptors made non-blocking */
	int saved_flags[TTY_TERM_MAX_FDS];
	unsigned n_flag_fds;
	bool flags_changed;     /* the flag_fds are non-blocking now */
};

/* Remembers fd (-1: no terminal) and, when it is a terminal, its current
 * mode. Changes nothing. */
void tty_term_init(struct tty_term *t, int fd);

/* The mode found by tty_term_init, or NULL when there is no terminal. */
const struct termios *tty_term_saved(const struct tty_term *t);

/* Saves the terminal's current mode and puts it in raw mode (a no-op
 * without a terminal), and makes the descriptors given to
 * tty_term_nonblock non-blocking again after a tty_term_restore. This is
 * also how a suspended session resumes. Returns 0, or -1 with *err naming
 * the terminal. */
int tty_term_raw(struct tty_term *t, struct err **err);

/* Makes fd non-blocking, remembering its flags for tty_term_restore.
 * Returns 0, or -1 with *err set. At most TTY_TERM_MAX_FDS descriptors. */
int tty_term_nonblock(struct tty_term *t, int fd, struct err **err);

/* Restores the saved mode (waiting for output already written to drain)
 * and every descriptor's flags. Safe to call any number of times, and on a
 * terminal that went away (errors are ignored: nothing is left to fix). */
void tty_term_restore(struct tty_term *t);

/* The local terminal's window size, or 80x24 when fd is -1 or not a
 * terminal (or reports 0 rows or columns). */
void tty_window_size(int fd, struct winsize *ws);

/* Opens a pseudo-terminal pair. The master (*master) is non-blocking; the
 * slave (*slave) is not this process's controlling terminal. Both are
 * close-on-exec. The pair gets window size *ws and, when mode is not NULL,
 * that terminal mode (so erase and interrupt keys match the user's).
 * Returns 0, or -1 with *err set and nothing open. */
int tty_pty_open(int *master, int *slave, const struct winsize *ws, const struct termios *mode,
		 struct err **err);

#endif
