/*
 * pytest_outcome: what pytest said about the test a job ran.
 *
 * The outcome plugin (runners/pytest/python/maelstrom_pytest_report.py)
 * ends the job's standard error with one line:
 *
 *     \n@@maelstrom-pytest-outcome@@ {"outcome": "skipped", "reason": "...", "when": "setup", ...}\n
 *
 * pytest_outcome_take finds it, parses it and cuts it out of the captured
 * output (with the newline written before it), so the user sees pytest's
 * output as pytest wrote it.
 *
 * pytest_outcome_map is maelstrom-pytest's engine_outcome_fn
 * (runners/engine.h). For a job that exited and printed the line:
 *
 *   pytest says       shown     detail
 *   passed            OK        (none)
 *   failed            FAIL      (the exit status)
 *   error             ERROR     "error in setup" / "error in teardown"
 *   skipped           SKIPPED   "skipped: REASON"
 *   xfailed           XFAIL     "xfail: REASON"
 *   xpassed           OK        "XPASS (not strict): REASON" -- as pytest: an
 *                               xfail test that passes without strict=True
 *                               does not fail the run
 *   xpassed-strict    XPASS     "XPASS(strict): REASON" -- a failure, as in pytest
 *   none              ERROR     pytest ran no test (renamed since collection?)
 *
 * A test pytest calls passed, skipped or xfailed whose pytest still exited
 * non-zero (a session-level error) is FAIL, with that in the detail. A job
 * that timed out, was killed or could not run, or that printed no outcome
 * line (the plugin did not load, or the line was cut off by inline-limit),
 * is mapped by engine_default_outcome.
 */
#ifndef RUNNERS_PYTEST_OUTCOME_H
#define RUNNERS_PYTEST_OUTCOME_H

#include "container/capture.h"
#include "container/executor.h"
#include "core/err.h"
#include "runners/testcase.h"
#include "runners/ui.h"

#define PYTEST_OUTCOME_MARK "@@maelstrom-pytest-outcome@@"

enum pytest_result {
	PYTEST_PASSED,
	PYTEST_FAILED,
	PYTEST_ERROR,
	PYTEST_SKIPPED,
	PYTEST_XFAILED,
	PYTEST_XPASSED,
	PYTEST_XPASSED_STRICT,
	PYTEST_NONE,
};

struct pytest_outcome {
	enum pytest_result result;
	char *reason;   /* skip or xfail reason; "" when none */
	char *when;     /* the phase that decided: "setup", "call", "teardown", "" */
};

/* Looks for the last outcome line in c. Returns 1 when it was found and
 * parsed (*out filled, the line removed from c), 0 when there is none, -1
 * with *err when it is malformed (c is left as it is). */
int pytest_outcome_take(struct captured *c, struct pytest_outcome *out, struct err **err);

/* Frees what o owns. */
void pytest_outcome_release(struct pytest_outcome *o);

/* The engine_outcome_fn (see above). arg is unused. The outcome line is
 * removed from res's standard error (the result is the engine's own, and
 * it shows what is left). */
enum ui_outcome pytest_outcome_map(void *arg, const struct test_case *tc,
				   const struct job_result *res, char **detail);

#endif
