/*
 * cargo_build: `cargo test --no-run --message-format=json-render-diagnostics`
 * run through the reactor, its messages read as they come.
 *
 * cargo prints one JSON object per line on standard output. Those we act
 * on (every other reason is ignored):
 *   compiler-artifact  a target was built; with profile.test true and an
 *                      `executable`, that file is a test binary to list;
 *   compiler-message   a diagnostic; with json-render-diagnostics cargo
 *                      prints diagnostics itself on standard error, but a
 *                      "rendered" text found here is shown too;
 *   build-finished     the build's verdict (`success`).
 * Lines that are not JSON objects, and every line cargo writes on standard
 * error ("Compiling ...", warnings, errors), are passed on as text to show.
 *
 * The build fails when build-finished says so, when cargo exits non-zero or
 * by a signal; the message then quotes cargo's error lines (those starting
 * with "error") and how cargo ended.
 */
#ifndef RUNNERS_CARGO_BUILD_H
#define RUNNERS_CARGO_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/reactor.h"
#include "runners/testcase.h"

enum cargo_msg_kind {
	CARGO_MSG_OTHER,            /* a JSON message we do not use */
	CARGO_MSG_TEXT,             /* not JSON: `text` holds the line */
	CARGO_MSG_ARTIFACT,
	CARGO_MSG_COMPILER_MESSAGE,
	CARGO_MSG_BUILD_FINISHED,
};

/* One message, its strings heap-owned (NULL when absent). */
struct cargo_msg {
	enum cargo_msg_kind kind;
	char *package_id;           /* ARTIFACT, COMPILER_MESSAGE */
	char *target_name;          /* ARTIFACT, COMPILER_MESSAGE */
	enum target_kind target_kind;
	bool profile_test;          /* ARTIFACT: built as a test harness */
	char *executable;           /* ARTIFACT: the binary, if one was made */
	char *text;                 /* COMPILER_MESSAGE: "rendered"; TEXT: the line */
	bool success;               /* BUILD_FINISHED */
};

/* Parses one line of cargo's output (without its newline). A line that
 * starts with '{' but is not valid JSON, or a message of a known reason
 * missing a required field, is an error; any other non-JSON line is
 * CARGO_MSG_TEXT. Fills *out (zeroed first). */
int cargo_msg_parse(const char *line, size_t len, struct cargo_msg *out, struct err **err);

/* Frees the strings and zeroes m. */
void cargo_msg_release(struct cargo_msg *m);

/* True for an artifact that is a test binary to list. */
bool cargo_msg_is_test_binary(const struct cargo_msg *m);

/* What the build tells its owner. Each runs from a reactor callback; the
 * owner may free the build from any of them (nothing follows then). */
struct cargo_build_cbs {
	/* A test binary was built (cargo_msg_is_test_binary holds). */
	void (*binary)(void *arg, const struct cargo_msg *m);
	/* A line to show: cargo's standard error, a rendered diagnostic. */
	void (*text)(void *arg, const char *text);
	/* The end, once: ok, or a message saying why the build failed. */
	void (*done)(void *arg, bool ok, const char *message);
};

struct cargo_build;

/* Starts argv (see cargo_opts_build_argv) in cwd (NULL: ours). On failure
 * to start, returns -1 with *err; no callback runs. */
int cargo_build_start(struct cargo_build **out, struct reactor *r, const char *const *argv,
		      const char *cwd, const struct cargo_build_cbs *cbs, void *arg,
		      struct err **err);

/* Stops the build (killing cargo and its compilers) if it still runs, and
 * frees it. Safe on NULL, and from inside the callbacks. */
void cargo_build_free(struct cargo_build *b);

#endif
