/*
 * ui: what a test runner (cargo-maelstrom, maelstrom-pytest) shows the user
 * while tests run, and the summary at the end.
 *
 * The UI knows nothing about the engine: the engine reports state changes
 * (totals, counts by job state, tests starting and finishing, messages) and
 * the UI decides how to show them. Everything is written with write(2) on
 * one file descriptor (normally 1), one write per update, short writes and
 * EINTR handled. If the fd breaks (EPIPE, a closed terminal), further output
 * is dropped silently; SIGPIPE is the program's business (ignore it if the
 * pipe closing should not kill the runner).
 *
 * Styles (the book's `ui` and `quiet` configuration values):
 *
 *   style    on a terminal                           not a terminal
 *   simple   one line per finished test, and a       one line per finished
 *            one-line progress bar under them        test, no bar
 *   fancy    as simple, with a richer status area:   (treated as simple)
 *            one line per running test with how long
 *            it has run, above the bar
 *   quiet    the progress bar only                   nothing per test
 *   auto     fancy                                   simple
 *
 * Every style prints ui_message lines and the summary. A finished test's
 * line reads
 *
 *     pkg test_name ............................................ OK   0.012s
 *
 * padded with dots to the terminal's width (80 columns when not a
 * terminal); a name too long for that keeps " ... " and runs over. The
 * outcome word is one of OK, FAIL, TIMEOUT, ERROR, IGNORED, SKIPPED, XFAIL,
 * XPASS; the duration is shown for tests that ran (a job result was given).
 * FAIL, TIMEOUT and ERROR lines are followed by the detail (what happened)
 * and the test's captured standard output and error, each under a
 * "---- NAME stdout ----" heading, with a note when bytes were truncated.
 * Quiet prints neither the lines nor the captured output.
 *
 * The progress bar (terminal only) sits on the last line and is redrawn in
 * place (carriage return and ANSI erase), at most 10 times a second, from a
 * reactor timer armed only when something changed. Lines printed while the
 * bar is shown erase it, print, and redraw it, in one write. The bar shows a
 * proportional bar, "completed/total", the counts by state and as many
 * running test names as fit the width, which is read with TIOCGWINSZ at
 * every redraw (so a resized terminal is followed without SIGWINCH). The
 * bar appears with the first ui_set_total, ui_set_counts or
 * ui_test_running call, disappears at ui_summary (and comes back if state
 * changes again, as in a --watch re-run) and is erased by ui_free. In fancy
 * style the status area is redrawn once a second while tests are marked
 * running, to keep their times current: mark every test done (or free the
 * UI) or the reactor keeps running. Anything else written to the terminal
 * while the bar is shown lands after it on its line: route log lines and
 * build output through ui_message. A terminal narrowed between two redraws
 * may keep a fragment of the old bar (it rewrapped before it was erased).
 *
 * Colors (green OK, red FAIL/TIMEOUT/ERROR/XPASS, yellow IGNORED/SKIPPED/
 * XFAIL, bold test names) are used only when the caller asks; see
 * ui_want_color for the usual choice (a terminal and no NO_COLOR).
 *
 * Widths count UTF-8 code points, one column each. Names are copied; the
 * UI keeps no pointer to its callers' memory.
 */
#ifndef RUNNERS_UI_H
#define RUNNERS_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/executor.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/reactor.h"

enum ui_style {
	UI_AUTO,     /* fancy on a terminal, simple otherwise */
	UI_SIMPLE,
	UI_FANCY,
	UI_QUIET,    /* the book's `quiet = true` */
};

/* How one test ended, as the user reads it. */
enum ui_outcome {
	UI_OK,
	UI_FAIL,        /* the test ran and failed (non-zero exit, signal) */
	UI_TIMEOUT,
	UI_ERROR,       /* it could not run (spec error, system error) */
	UI_IGNORED,     /* not run: #[ignore] or a directive's ignore */
	UI_SKIPPED,     /* pytest: skipped, the detail being the reason */
	UI_XFAIL,       /* pytest: failed as expected */
	UI_XPASS,       /* pytest: passed although expected to fail */
};

/* Jobs by state, as the engine counts them. `completed` includes `failed`. */
struct ui_counts {
	size_t waiting_for_artifacts;
	size_t pending;      /* submitted, waiting for a slot */
	size_t running;
	size_t completed;
	size_t failed;
};

/* One test named in the summary. */
struct ui_summary_entry {
	const char *display;
	enum ui_outcome outcome;
};

/* What the summary reports. The lists are borrowed for the call. */
struct ui_summary {
	size_t passed;
	const struct ui_summary_entry *failed;    /* FAIL, TIMEOUT, ERROR, XPASS... */
	size_t n_failed;
	const struct ui_summary_entry *ignored;   /* IGNORED, SKIPPED, XFAIL... */
	size_t n_ignored;
	size_t not_run;        /* selected but never run (--stop-after); shown if > 0 */
	uint64_t wall_ns;      /* the whole run's duration; shown if > 0 */
};

struct ui;

/* ---- choosing a style --------------------------------------------------- */

/* Parses the `ui` configuration value: "auto", "simple" or "fancy". */
int ui_style_parse(const char *text, enum ui_style *out, struct err **err);

/* Combines `ui` with `quiet` and whether standard output is a terminal, as
 * the book specifies: quiet gives UI_QUIET, auto gives fancy on a terminal
 * and simple otherwise. Fancy with quiet, or fancy without a terminal, is
 * an error (the book calls them incompatible). */
int ui_style_choose(enum ui_style ui, bool quiet, bool is_tty, enum ui_style *out,
		    struct err **err);

/* True when fd is a terminal and NO_COLOR is unset or empty. */
bool ui_want_color(int fd);

/* "OK", "FAIL", "TIMEOUT", "ERROR", "IGNORED", "SKIPPED", "XFAIL", "XPASS". */
const char *ui_outcome_word(enum ui_outcome o);

/* The outcomes whose captured output is shown: FAIL, TIMEOUT, ERROR. */
bool ui_outcome_shows_output(enum ui_outcome o);

/* ---- the UI --------------------------------------------------------------- */

/* Creates a UI writing to out_fd (not owned, not closed). Whether out_fd is
 * a terminal is found with isatty(); UI_FANCY without one acts as simple.
 * r must outlive the UI. Allocation failure aborts; nothing else fails. */
struct ui *ui_new(struct reactor *r, enum ui_style style, int out_fd, bool color);

/* Erases the progress bar, flushes, cancels the redraw timer, frees. Safe on
 * NULL. */
void ui_free(struct ui *ui);

/* The number of tests selected so far; may grow while tests are discovered. */
void ui_set_total(struct ui *ui, size_t total);

/* The jobs by state (copied). */
void ui_set_counts(struct ui *ui, const struct ui_counts *c);

/* Marks a test as running (shown in the bar), or no longer running (e.g.
 * canceled). Repeated names (--repeat) are tracked one instance each. */
void ui_test_running(struct ui *ui, const char *display);
void ui_test_not_running(struct ui *ui, const char *display);

/* Reports a finished test and marks it no longer running. res is the job's
 * result (borrowed; NULL for a test that never ran, such as an ignored one):
 * its captured output is shown for FAIL, TIMEOUT and ERROR. detail says what
 * happened ("exited with code 101", a skip reason); when NULL and res is
 * given, one is made from res for the failure outcomes. duration_ns is shown
 * when res is given. */
void ui_test_done(struct ui *ui, const char *display, enum ui_outcome o, uint64_t duration_ns,
		  const struct job_result *res, const char *detail);

/* Prints a line (or several) above the bar, in every style: build output,
 * warnings, listing output. A final newline is added when missing. */
void ui_message(struct ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Erases the bar and prints the summary: a "Test Summary" rule, the counts
 * of successful, failed and (when any) ignored tests, each failed and
 * ignored test with its outcome word, then not-run tests and the wall time
 * when given. */
void ui_summary(struct ui *ui, const struct ui_summary *s);

/* Redraws the bar now if it changed since it was last drawn, instead of
 * waiting for the timer (e.g. before the program blocks). */
void ui_refresh(struct ui *ui);

/* ---- pure rendering, for tests and for the UI itself ---------------------- */

struct ui_running_test {
	const char *display;
	uint64_t started_ns;   /* reactor_now_ns() when it started */
};

/* Everything the status area (the bar, and in fancy style the running
 * tests above it) shows. */
struct ui_status {
	struct ui_counts counts;
	size_t total;
	const struct ui_running_test *running;   /* longest running first */
	size_t n_running;
	uint64_t now_ns;          /* for running times (fancy) */
	unsigned width, height;   /* the terminal's size */
	bool fancy;
	bool color;
};

/* Appends the status area to out: in simple style one line, in fancy style
 * up to 8 lines of running tests ("  12s  pkg test_slow", then "  ... and N
 * more running" when they do not all fit; no more than height/2 lines) and
 * the bar. Lines are separated by "\n", with none after the last, and each
 * is at most width - 1 columns wide (escape sequences not counted), so that
 * it never wraps (width 0 means 80, height 0 means 24). The bar line reads:
 *
 *   [==========>         ] 12/40 | 3 waiting for artifacts, 10 pending,
 *   4 running, 1 failed | pkg test_a, pkg test_b, +2 more
 *
 * (one line). As the width shrinks, the bar goes from 30 to 20 to 10
 * cells, the counts shorten to "3 wait, 10 pend, 4 run, 1 fail", then the
 * bar goes, then the counts. In simple style 25 columns are kept for the
 * running tests' names when the width allows (the counts shorten first);
 * the first name keeps its end ("...::case_04") when it is too long. The
 * failed count appears only when non-zero; the total shown is never less
 * than the jobs counted. Returns the number of lines appended. */
unsigned ui_render_bar(const struct ui_status *s, struct buf *out);

#endif
