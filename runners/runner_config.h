/*
 * runner_config: the configuration values that cargo-maelstrom and
 * maelstrom-pytest read the same way (book: cargo-maelstrom/config.md,
 * pytest/config.md): the counts `repeat`, `loop`, `stop-after` and
 * `slots`, and `timeout`.
 *
 * Only for a configuration whose program declares all of these options
 * (config_get_* on an undeclared name is a programming error). Messages
 * name where a bad value was given (config_source).
 */
#ifndef RUNNERS_RUNNER_CONFIG_H
#define RUNNERS_RUNNER_CONFIG_H

#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

/* Checks that repeat, loop, stop-after and slots are not negative and that
 * slots, when set, is at least 1. Returns 0, or -1 with *err set. */
int runner_config_check_counts(const struct config *cfg, struct err **err);

/* The `timeout` value in seconds in *out, 0 when unset. Returns 0, or -1
 * with *err set (and *out 0) when it is not a whole number of seconds. */
int runner_config_timeout(const struct config *cfg, uint32_t *out, struct err **err);

/* How many times every test runs: `loop` when given, else `repeat`. */
unsigned runner_config_repeat(const struct config *cfg);

/* The `stop-after` value, 0 (never stop) when unset. */
unsigned runner_config_stop_after(const struct config *cfg);

#endif
