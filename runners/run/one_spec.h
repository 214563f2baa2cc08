/*
 * one_spec: reads the one job spec of maelstrom-run --tty.
 *
 * In TTY mode the job spec comes first on the input (standard input, or the
 * file given with -f), and what follows it on standard input is the user's:
 * it belongs to the job. So the spec is read one byte at a time and reading
 * stops right after its closing brace, plus the rest of that line when it
 * holds only blanks (the Enter that ended a spec typed at a terminal).
 * Anything after a first spec in a file is ignored, as the book says.
 *
 * Reading blocks (this runs before the reactor starts): a descriptor made
 * non-blocking is waited on with poll.
 *
 *     struct job_spec spec;
 *     if (one_spec_read(STDIN_FILENO, "standard input", &spec, err) < 0) ...
 */
#ifndef RUNNERS_RUN_ONE_SPEC_H
#define RUNNERS_RUN_ONE_SPEC_H

#include "core/err.h"
#include "core/spec.h"

/* Reads the first JSON job spec from fd into *out (which need not be
 * initialised). `what` names the input in messages ("standard input",
 * "job.json"). Returns 0, or -1 with *err saying what is wrong and where
 * ("job.json: job 1 at line 3 column 5: ...") and *out zeroed. */
int one_spec_read(int fd, const char *what, struct job_spec *out, struct err **err);

#endif
