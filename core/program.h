/*
 * program: the start and the end every program's main() shares.
 *
 *     struct config cfg;
 *     int rc = program_load_config(&cfg, &program, argc, argv, check_config, NULL);
 *     if (rc >= 0)
 *             return rc;          // --help/--version printed, or bad usage
 *     ... run, and on failure: program_log_error(&err) ...
 *     config_release(&cfg);
 *
 * Exit statuses follow one convention: 0 after --help, --version or
 * --print-config, 2 for bad usage or configuration (the message is logged),
 * and whatever the program decides otherwise.
 *
 * These functions write to stdout and the log and may end the process
 * (program_exit_signal); they belong in main() and nowhere in library code.
 */
#ifndef CORE_PROGRAM_H
#define CORE_PROGRAM_H

#include "core/config.h"
#include "core/err.h"

/* A program's own checks of its loaded configuration, run after
 * config_load succeeded; arg is the one given to program_load_config.
 * Returns 0, or -1 with *err set (a usage error). */
typedef int program_check_fn(const struct config *cfg, void *arg, struct err **err);

/* Names the log after prog->name, initialises *cfg and loads it from argv,
 * the environment and the config files, then runs check (may be NULL).
 * Returns -1 when the program should go on: *cfg is loaded and the caller
 * releases it. Otherwise *cfg is already released and the return value is
 * the exit status: 0 after printing the --help, --version or
 * --print-config text to stdout, 2 after logging why the configuration is
 * bad. */
int program_load_config(struct config *cfg, const struct config_program *prog, int argc,
			char **argv, program_check_fn *check, void *arg);

/* Logs err_msg(*err) as an error and frees it (*err becomes NULL). */
void program_log_error(struct err **err);

/* A path in the program's cache directory, which is made if missing: the
 * directory is `configured` (the cache-root value, may be NULL) or else
 * $XDG_CACHE_HOME/<suffix> (default ~/.cache/<suffix>). Returns the heap
 * path "<directory>/<name>" (not made), or NULL with *err saying
 * "cache-root <directory>: ...". */
char *program_cache_path(const char *configured, const char *suffix, const char *name,
			 struct err **err);

/* Ends the process by signal signo, as if it had not been caught: restores
 * the default disposition, unblocks it and raises it. Returns only when
 * the default action does not end the process (an ignored signal such as
 * SIGCHLD); the caller then exits by itself. */
void program_exit_signal(int signo);

#endif
