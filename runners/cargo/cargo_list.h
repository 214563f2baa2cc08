/*
 * cargo_list: the tests of one test binary, and the test cases made of
 * them.
 *
 * A Rust test binary lists its tests with `<bin> --list --format terse`,
 * one per line as "NAME: test" (benchmarks read "NAME: benchmark" and are
 * not tests to run), and only its #[ignore]d ones with `--ignored` added.
 * cargo_list_start runs both, one after the other, through the reactor, in
 * the binary's package directory as cargo would.
 *
 * Test cases (runners/testcase.h) for cargo:
 *   id       "PACKAGE::TARGET::NAME" (the target name followed by
 *            "(KIND)" when the package has another tested target of that
 *            name, e.g. a library and a binary both named like the package)
 *   display  "PACKAGE NAME" for the library target, "PACKAGE TARGET NAME"
 *            for the others
 *   binary   the target's name; kind its kind; ignored from `--ignored`
 *   runner_data  a struct cargo_case: the binary's path
 */
#ifndef RUNNERS_CARGO_LIST_H
#define RUNNERS_CARGO_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/reactor.h"
#include "runners/cargo/cargo_meta.h"
#include "runners/testcase.h"

/* What cargo-maelstrom keeps in a test case's runner_data. */
struct cargo_case {
	char *executable;   /* absolute path of the test binary */
};

/* The cargo_case of a cargo test case. */
const struct cargo_case *cargo_case_of(const struct test_case *tc);

/* One line of terse output (without its newline): returns 1 and a heap
 * copy of the name in *name for "NAME: test", 0 for any other line
 * (benchmarks, blank lines, notes). */
int cargo_list_parse_line(const char *line, size_t len, char **name);

/* The test cases of one binary: one per name in names (n of them), ignored
 * when the name is also among the ignored ones. pkg and target describe the
 * binary (target: the one the artifact was built from); executable is its
 * path. Returns a heap array of n heap test cases (the caller takes both),
 * NULL when n is 0. */
struct test_case **cargo_list_make_cases(const struct cargo_package *pkg,
					 const struct cargo_target *target,
					 const char *executable, char *const *names, size_t n,
					 char *const *ignored, size_t n_ignored);

/* The end of a listing: the names (strv, possibly empty) and the ignored
 * names (strv), both the callee's to keep or free with strv_free; or, on
 * failure, names == ignored == NULL and a message. */
typedef void cargo_list_cb(void *arg, char **names, char **ignored, const char *error);

struct cargo_list;

/* Lists executable's tests, running it in cwd (NULL: ours). Returns -1 with
 * *err when the binary cannot be started; otherwise cb runs once, later. */
int cargo_list_start(struct cargo_list **out, struct reactor *r, const char *executable,
		     const char *cwd, cargo_list_cb *cb, void *arg, struct err **err);

/* Cancels (kills the binary) or cleans up after cb. Safe on NULL and from
 * inside cb. */
void cargo_list_free(struct cargo_list *l);

#endif
