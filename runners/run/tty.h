/*
 * tty: the terminal session of maelstrom-run --tty, like `docker exec -it`.
 *
 * A session owns a pseudo-terminal pair (runners/run/tty_term.h). Its slave
 * is handed to the job (client_set_tty), where it becomes the job's stdin,
 * stdout, stderr and controlling terminal. Once started, the session puts
 * the local terminal in raw mode and relays, on the reactor:
 *     what the user types  --(escape filter)-->  the pty master
 *     the pty master       ----------------->  our standard output
 *     SIGWINCH             ----------------->  the local terminal's size
 *                                               on the master (TIOCSWINSZ)
 * with a bounded buffer each way: while one side cannot take more, the
 * other is not read.
 *
 * The escape character (runners/run/tty_escape.h) is filtered out of the
 * input: ESC ^C reports TTY_SESSION_DETACH to the owner, who kills the job;
 * ESC ^Z (or a SIGTSTP) restores the terminal and stops maelstrom-run until
 * it is continued, then the terminal goes raw again and the window size is
 * sent anew.
 *
 * Input that is not a terminal (a pipe, a file, /dev/null) is relayed as
 * it is, and its end becomes ends of file for the job: from then on,
 * whenever the job runs, has read everything sent and kept its terminal
 * mode since the last check (every 100 ms), it gets the pty's EOF character
 * (^D), as if the user typed it. So a shell reading commands from a pipe
 * exits at its end. (Best effort: a program that changes its terminal mode
 * more than 100 ms after it started may take a ^D for a NUL byte.)
 *
 * The end: when the job is over the owner calls tty_session_job_done. The
 * session closes its copy of the slave and relays what the job left in the
 * pty until the master reports the end (EIO), then reports
 * TTY_SESSION_OUTPUT_DONE. If a stray copy of the slave kept the pty open,
 * it gives up waiting after TTY_DRAIN_GRACE_MS. tty_session_free restores
 * the terminal: the owner calls it on every exit path (job over, detach,
 * a signal, an error) before printing anything.
 *
 * Callbacks run from the reactor (TTY_SESSION_OUTPUT_DONE possibly from
 * inside tty_session_job_done); the owner frees the session only after
 * reactor_run returned, never from a callback.
 */
#ifndef RUNNERS_RUN_TTY_H
#define RUNNERS_RUN_TTY_H

#include "core/err.h"
#include "core/reactor.h"

/* How long to wait for the pty to close after the job is done. */
#define TTY_DRAIN_GRACE_MS 2000

struct tty_session_config {
	int in_fd;             /* what the user types: stdin or /dev/tty */
	int out_fd;            /* where the job's terminal output goes: stdout */
	int term_fd;           /* the local terminal (mode, window size); -1: none */
	unsigned char escape;  /* the escape character */
};

enum tty_session_event {
	TTY_SESSION_DETACH,       /* the user typed ESC ^C: kill the job */
	TTY_SESSION_OUTPUT_DONE,  /* after tty_session_job_done: all relayed */
};

typedef void tty_session_cb(void *arg, enum tty_session_event event);

struct tty_session;

/* Opens the pseudo-terminal, with the local terminal's window size and
 * mode. Changes nothing on the local terminal yet. The descriptors in cfg
 * stay the caller's. */
int tty_session_new(struct tty_session **out, struct reactor *r,
		    const struct tty_session_config *cfg, tty_session_cb *cb, void *arg,
		    struct err **err);

/* The slave side for the job. Owned by the session; valid until
 * tty_session_job_done. */
int tty_session_slave(const struct tty_session *s);

/* Puts the local terminal in raw mode and starts relaying. Returns 0, or
 * -1 with *err set (the terminal is then already restored). */
int tty_session_start(struct tty_session *s, struct err **err);

/* The job runs (its container launched). */
void tty_session_job_started(struct tty_session *s);

/* The job is over (or never started): stop relaying input, close the
 * slave, relay what is left, then report TTY_SESSION_OUTPUT_DONE. */
void tty_session_job_done(struct tty_session *s);

/* Restores the terminal, stops watching, closes the pty. Safe on NULL. */
void tty_session_free(struct tty_session *s);

#endif
