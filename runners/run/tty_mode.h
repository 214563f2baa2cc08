/*
 * tty_mode: maelstrom-run --tty, from a parsed job spec to an exit status.
 *
 * The job runs with allocate_tty on a pseudo-terminal session
 * (runners/run/tty.h) and always on the local worker, whether or not a
 * broker is configured (tty jobs are local-only). tty_mode_run drives the
 * reactor until the job is over and its terminal output relayed, the user
 * detached (escape character, then ^C) or maelstrom-run got SIGINT,
 * SIGTERM, SIGHUP or SIGQUIT. The local terminal is restored before
 * tty_mode_run returns, whatever happened, and only then is anything
 * printed: an execution error, a time-out or a killing signal like --one
 * prints them (runners/run/report.h), a detach prints a short note.
 *
 * The exit status is --one's (report_exit_status): the job's exit code,
 * 128 + signal with *signo set when it was killed by a signal (main then
 * dies by that signal), 124 after a time-out, 1 for an execution or system
 * error and after a detach. After a stop signal, *signo is that signal and
 * the job is still running: freeing the client kills it.
 */
#ifndef RUNNERS_RUN_TTY_MODE_H
#define RUNNERS_RUN_TTY_MODE_H

#include "core/err.h"
#include "core/reactor.h"
#include "core/spec.h"
#include "runners/client.h"
#include "runners/run/tty.h"

/* Takes *spec (zeroed). Returns the exit status (see above), or -1 with
 * *err set when the session could not even start (nothing ran; the
 * terminal is as it was). */
int tty_mode_run(struct reactor *r, struct client *c, struct job_spec *spec,
		 const struct tty_session_config *cfg, int *signo, struct err **err);

#endif
