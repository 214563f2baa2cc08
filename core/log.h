/*
 * log: leveled messages to standard error, one line each:
 *
 *     maelstrom-run: warning: cache root /x is on tmpfs
 *
 * Levels follow the book's `log-level` values: "error", "warning", "info",
 * "debug". Messages below the current level cost one comparison.
 * Not thread-safe (every process here is single-threaded).
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_ERROR,
	LOG_WARNING,
	LOG_INFO,
	LOG_DEBUG,
};

/* Program name shown before each message (not copied: pass a literal). */
void log_set_program(const char *name);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warning", "info" or "debug". Returns false otherwise. */
bool log_parse_level(const char *text, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
