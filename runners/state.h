/*
 * state: a test runner's listing state, the memory of earlier runs that
 * decides the order tests run in (the book's "Test Execution Order").
 *
 * For every test id (struct test_case's `id`) that has ever run, the state
 * keeps its last STATE_HISTORY outcomes (passed or failed) with their
 * durations in milliseconds, and whether the last run that included the test
 * saw any failure (with --repeat, one failure among many passes counts).
 * A test the state has no record of is "new".
 *
 * The order (state_compare, state_sort):
 *   1. new tests and tests that failed in their last run come first (the two
 *      have the same priority);
 *   2. then the longest expected duration first (the mean of the recorded
 *      durations; 0 for a new test): longest-processing-time-first;
 *   3. ties broken by id (strcmp), so the order is total and repeatable.
 *
 * Storage: one JSON file, <dir>/test-listing.json, where dir is the runner's
 * state directory (cargo-maelstrom: <target>/maelstrom/state; maelstrom-pytest:
 * .maelstrom-pytest/state). Its shape:
 *
 *     {"format": "maelstrom-test-listing", "version": 1,
 *      "tests": {"<id>": {"outcomes": "PPF", "durations_ms": [12, 11, 40],
 *                         "failed_last_run": true}, ...}}
 *
 * "outcomes" holds one letter per recorded run, P (passed) or F (failed),
 * oldest first, aligned with "durations_ms". A missing file is an empty
 * state. A file that is not valid JSON, has another shape, or carries
 * another format or version is reported as a warning and treated as empty;
 * the next state_save replaces it. state_save writes a temporary file in the
 * same directory and renames it over the old one, so readers see either the
 * old or the new file, never a mix, and no temporary file stays behind.
 *
 * Runs: state_load begins the first run. state_record adds to the current
 * run; what state_failed_last reports for a test that already ran in this
 * run is this run's verdict. state_begin_run closes the current run and
 * starts another one in the same process (--watch).
 *
 * Pruning: tests that disappeared (renamed or deleted) would stay in the file
 * forever, so the runner marks every test it lists with state_mark_seen and,
 * only when the listing was complete (every package built and listed, no
 * filter narrowing discovery), calls state_prune_unseen.
 *
 * Ownership: the state owns copies of every id handed to it; callers keep
 * their strings. Not thread-safe. Allocation failure aborts.
 */
#ifndef RUNNERS_STATE_H
#define RUNNERS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "runners/testcase.h"

/* Outcomes and durations kept per test. */
#define STATE_HISTORY 16

/* The "version" written and accepted. */
#define STATE_VERSION 1

/* The file's name inside the state directory. */
#define STATE_FILE_NAME "test-listing.json"

struct state;

/* Loads <dir>/test-listing.json into a new state (*out; free with
 * state_free). The directory need not exist yet (state_save creates it). A
 * missing file gives an empty state; a corrupt or foreign file is logged as
 * a warning and also gives an empty state. Fails only when the file exists
 * but cannot be read (permissions, a directory in the way, an I/O error). */
int state_load(struct state **out, const char *dir, struct err **err);

/* Frees the state and everything it holds. Safe on NULL. */
void state_free(struct state *s);

/* The file this state loads from and saves to. */
const char *state_path(const struct state *s);

/* Number of tests with a record. */
size_t state_size(const struct state *s);

/* True when the state has no record of the test ever running. */
bool state_is_new(const struct state *s, const char *id);

/* True when the last run that included the test saw at least one failure
 * (the current run, if the test already ran in it). False for new tests. */
bool state_failed_last(const struct state *s, const char *id);

/* The expected duration: the mean of the recorded durations (up to
 * STATE_HISTORY of the most recent ones), in ms; 0 when unknown. */
uint64_t state_expected_ms(const struct state *s, const char *id);

/* Records one execution of the test in the current run: whether it passed
 * (a time-out or an error counts as a failure) and how long it took. The
 * oldest entry is dropped once STATE_HISTORY are kept. Marks the test seen. */
void state_record(struct state *s, const char *id, bool passed, uint64_t duration_ms);

/* Closes the current run and starts another: this run's verdicts become
 * "last run", and every seen mark is cleared. */
void state_begin_run(struct state *s);

/* Marks a test as listed in the current run. Unknown ids are ignored (the
 * state only holds tests that ran). */
void state_mark_seen(struct state *s, const char *id);

/* Drops every test neither marked seen nor recorded in the current run, and
 * returns how many were dropped. Call it only after a complete listing. */
size_t state_prune_unseen(struct state *s);

/* Writes the state to its file atomically, creating the directory (and its
 * parents) when missing. The state stays usable. */
int state_save(struct state *s, struct err **err);

/* The book's order: negative when test a should run before test b, positive
 * when after, 0 only when a and b are the same id. */
int state_compare(const struct state *s, const char *a, const char *b);

/* qsort_r comparator for an array of `struct test_case *`, with the state as
 * the last argument:  qsort_r(tests, n, sizeof *tests, state_compare_cases, s) */
int state_compare_cases(const void *a, const void *b, void *state);

/* Sorts tests into the book's order. Looks each test up once, so it is
 * cheaper than qsort_r with state_compare_cases for large listings. */
void state_sort(const struct state *s, struct test_case **tests, size_t n);

/* Writes len bytes to path atomically: a temporary file next to it (mode
 * 0666 less the umask), flushed to disk, then renamed over path. On failure
 * the temporary file is removed and path is untouched. The directory must
 * exist. Shared with runners/junit.c. */
int state_write_atomic(const char *path, const void *data, size_t len, struct err **err);

#endif
