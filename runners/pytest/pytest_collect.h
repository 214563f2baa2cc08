/*
 * pytest_collect: the tests of a Python project, from pytest's own
 * collection on the host.
 *
 * The collection helper (runners/pytest/python/maelstrom_pytest_collect.py)
 * runs in the project directory with each candidate interpreter in turn
 * (runners/pytest/pytest_python.h) until one has pytest:
 *
 *     INTERPRETER <helpers>/maelstrom_pytest_collect.py [ARGS...]
 *
 * where ARGS are `--pyargs MODULE` (collect-from-module), the
 * extra-pytest-args and the extra-pytest-collect-args. Its standard output
 * is one JSON record per line ("no-pytest", "python", "test", "done");
 * its standard error is pytest's own report, shown when collection fails.
 *
 * An interpreter "works" once it sent the "python" record (pytest imported).
 * One that cannot be started, lacks pytest, or dies before that record is
 * noted with what it said, and the next one is tried; when none works the
 * collection fails with a message listing each and how to fix it.
 *
 * Test cases (runners/testcase.h) for pytest:
 *   id, node_id, display   pytest's node id ("tests/test_a.py::TestX::test_y[1]")
 *   name      the node id after the file: "TestX::test_y[1]"
 *   file      the test's file relative to the project directory
 *   package   the dotted package the test module is in (its __package__;
 *             for a module outside any package, its directory as a dotted
 *             path, "" at the top)
 *   markers   the names of the test's markers (skip, xfail, parametrize and
 *             custom ones), each once
 *   ignored   never set: statically skipped tests run too, so that pytest
 *             itself reports them SKIPPED with their reason
 *   runner_data  a struct pytest_case
 */
#ifndef RUNNERS_PYTEST_COLLECT_H
#define RUNNERS_PYTEST_COLLECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/reactor.h"
#include "runners/pytest/pytest_python.h"
#include "runners/testcase.h"

/* What maelstrom-pytest keeps in a test case's runner_data. */
struct pytest_case {
	char *run_arg;       /* what to give pytest to run the test, from the
				project directory: FILE::REST */
	bool skip;           /* the skip/skipif markers say it will be skipped */
	char *skip_reason;   /* "" when none */
};

/* The pytest_case of a test case made here, or NULL. */
const struct pytest_case *pytest_case_of(const struct test_case *tc);

/* Makes a test case of a "test" record. Fails, naming the field, when
 * node_id is missing or a field has the wrong type. */
struct test_case *pytest_case_from_json(const json_t *rec, struct err **err);

/* What a collection found. */
struct pytest_collection {
	bool found;                  /* an interpreter with pytest was found */
	char *interpreter;           /* the candidate that worked (as given) */
	struct pytest_python python; /* its record, when found */
	struct test_case **tests;    /* in pytest's order */
	size_t n_tests;
	size_t cap_tests;            /* private: room in tests */
	int exit_code;               /* pytest's ("done" record), -1 when none came */
	bool failed;                 /* no interpreter, or pytest's collection failed */
	char *message;               /* why it failed; NULL otherwise */
};

/* Frees everything the collection holds and zeroes it. */
void pytest_collection_release(struct pytest_collection *c);

/* Feeds one line of the helper's standard output into c: a record is
 * parsed and kept (the "python" record sets found). Blank lines are
 * skipped. Fails on a line that is not a JSON object with a known "type",
 * or a malformed record. *no_pytest gets a heap copy of a "no-pytest"
 * record's error (and is left alone otherwise). */
int pytest_collection_feed(struct pytest_collection *c, const char *line, size_t len,
			   char **no_pytest, struct err **err);

/* Optional: the interpreter that works is known. Called once per
 * collection, from the reactor, as soon as its "python" record arrived,
 * before pytest collects anything, with the collection so far (res->found
 * and res->python set). The callee may take res->python (and zero it;
 * res->found stays true), and must not free the collection. */
typedef void pytest_python_cb(void *arg, struct pytest_collection *res);

struct pytest_collect_opts {
	const char *const *candidates;  /* interpreters, NULL-terminated */
	const char *helpers_dir;
	const char *project_dir;        /* the helper runs there */
	const char *const *args;        /* pytest arguments (see above) */
	size_t n_args;
	pytest_python_cb *on_python;    /* optional; gets pytest_collect_start's arg */
};

/* The end of a collection: the callee takes what *res holds (release it
 * with pytest_collection_release). */
typedef void pytest_collect_cb(void *arg, struct pytest_collection *res);

struct pytest_collect;

/* Starts collecting. o's strings are copied. cb runs exactly once, later,
 * from the reactor, unless pytest_collect_free comes first. */
struct pytest_collect *pytest_collect_start(struct reactor *r, const struct pytest_collect_opts *o,
					    pytest_collect_cb *cb, void *arg);

/* Kills the helper if it still runs and frees. Safe on NULL and from
 * inside cb. */
void pytest_collect_free(struct pytest_collect *c);

#endif
