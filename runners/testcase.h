/*
 * testcase: one test as a test runner knows it, before it becomes a job.
 *
 * Front-ends (cargo-maelstrom, maelstrom-pytest) fill these from their
 * discovery (cargo: a test binary's `--list` output; pytest: the collection
 * helper's JSON records) and hand them to the engine (runners/engine.h),
 * which filters, orders, runs and reports them. Every string is heap-owned
 * by the test case; test_case_free releases it all.
 */
#ifndef RUNNERS_TESTCASE_H
#define RUNNERS_TESTCASE_H

#include <stdbool.h>

/* Cargo target kinds, as `cargo metadata` names them; TARGET_NONE for pytest. */
enum target_kind {
	TARGET_NONE,
	TARGET_LIB,       /* "lib", "rlib", "proc-macro", ...: the filter's `library` */
	TARGET_BIN,       /* "bin": the filter's `binary` */
	TARGET_TEST,      /* "test": an integration test, the filter's `test` */
	TARGET_BENCH,     /* "bench": the filter's `benchmark` */
	TARGET_EXAMPLE,   /* "example": the filter's `example` */
};

struct test_case {
	char *id;           /* unique and stable across runs: the key of the listing
			       state and of reports ("pkg::target::name" for cargo,
			       the node id for pytest) */
	char *package;      /* cargo package / pytest package (dotted module path) */
	char *binary;       /* cargo: target name; NULL for pytest */
	enum target_kind kind;
	char *name;         /* cargo: "mod::test_name"; pytest: the test's name */
	char *file;         /* pytest: file relative to the project; NULL for cargo */
	char *node_id;      /* pytest node id; NULL for cargo */
	char **markers;     /* pytest markers, NULL-terminated; NULL for cargo */
	bool ignored;       /* known at discovery to be ignored/skipped */
	char *display;      /* what the UI prints: "pkg test_name" / node id */
	void *runner_data;  /* the front-end's own data (e.g. the binary's path) */
	void (*runner_data_free)(void *);
};

void test_case_free(struct test_case *tc);

#endif
