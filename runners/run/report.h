/*
 * report: how maelstrom-run shows a finished job.
 *
 * A job's captured standard output goes to our standard output and its
 * standard error to our standard error, each whole, when the job ends, so
 * the output of parallel jobs never interleaves. Anything other than a clean
 * exit adds one line on standard error naming the job and what happened,
 * and truncated output says how many bytes were dropped and how to keep them.
 */
#ifndef RUNNERS_RUN_REPORT_H
#define RUNNERS_RUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "container/executor.h"

/* Prints the job's output and, if it did not exit 0, why. `label` names the
 * job ("job 3", or NULL in --one mode). Returns true when the job exited 0. */
bool report_job(const char *label, const struct job_result *res);

/* The exit status maelstrom-run --one should end with for this result; sets
 * *signo when it should instead kill itself with that signal. */
int report_exit_status(const struct job_result *res, int *signo);

#endif
