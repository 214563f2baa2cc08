/* The UI's text: a finished test's line and output, the summary, outcome
 * words and colors. Pure functions appending to a buffer. */
#include "runners/ui_internal.h"

#include <stdio.h>
#include <string.h>

size_t ui_cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void ui_put_colored(struct buf *b, bool color, const char *sgr, const char *s)
{
	if (color)
		buf_appends(b, sgr);
	buf_appends(b, s);
	if (color)
		buf_appends(b, UI_SGR_RESET);
}

const char *ui_outcome_word(enum ui_outcome o)
{
	switch (o) {
	case UI_OK:
		return "OK";
	case UI_FAIL:
		return "FAIL";
	case UI_TIMEOUT:
		return "TIMEOUT";
	case UI_ERROR:
		return "ERROR";
	case UI_IGNORED:
		return "IGNORED";
	case UI_SKIPPED:
		return "SKIPPED";
	case UI_XFAIL:
		return "XFAIL";
	case UI_XPASS:
		return "XPASS";
	}
	return "?";
}

const char *ui_outcome_sgr(enum ui_outcome o)
{
	switch (o) {
	case UI_OK:
		return UI_SGR_GREEN;
	case UI_FAIL:
	case UI_TIMEOUT:
	case UI_ERROR:
	case UI_XPASS:
		return UI_SGR_RED;
	case UI_IGNORED:
	case UI_SKIPPED:
	case UI_XFAIL:
		return UI_SGR_YELLOW;
	}
	return UI_SGR_RESET;
}

bool ui_outcome_shows_output(enum ui_outcome o)
{
	switch (o) {
	case UI_FAIL:
	case UI_TIMEOUT:
	case UI_ERROR:
		return true;
	case UI_OK:
	case UI_IGNORED:
	case UI_SKIPPED:
	case UI_XFAIL:
	case UI_XPASS:
		return false;
	}
	return false;
}

/* "0.012s": seconds with milliseconds, rounded. */
static void format_duration(char *out, size_t size, uint64_t ns)
{
	unsigned long long ms = (unsigned long long)((ns + 500000u) / 1000000u);
	snprintf(out, size, "%llu.%03llus", ms / 1000, ms % 1000);
}

/* What happened to a job that did not pass, in words. */
static void describe_result(struct buf *b, const struct job_result *res)
{
	const char *msg = res->message ? res->message : "";
	switch (res->outcome) {
	case JOB_EXITED:
		if (res->code != 0)
			buf_appendf(b, "exited with code %d", res->code);
		return;
	case JOB_SIGNALED: {
		const char *abbrev = sigabbrev_np(res->code);
		if (abbrev)
			buf_appendf(b, "killed by signal %d (SIG%s)", res->code, abbrev);
		else
			buf_appendf(b, "killed by signal %d", res->code);
		return;
	}
	case JOB_TIMED_OUT:
		buf_appends(b, *msg ? msg : "timed out");
		return;
	case JOB_EXECUTION_ERROR:
		buf_appendf(b, "execution error: %s", msg);
		return;
	case JOB_SYSTEM_ERROR:
		buf_appendf(b, "system error: %s", msg);
		return;
	case JOB_CANCELED:
		buf_appends(b, "canceled");
		return;
	}
}

static void ensure_newline(struct buf *b)
{
	if (b->len && b->data[b->len - 1] != '\n')
		buf_appends(b, "\n");
}

static void format_stream(struct buf *b, const char *display, const char *stream,
			  const struct captured *c)
{
	if (c->len == 0 && c->truncated == 0)
		return;
	buf_appendf(b, "---- %s %s ----\n", display, stream);
	if (c->len) {
		buf_append(b, c->data, c->len);
		ensure_newline(b);
	}
	if (c->truncated)
		buf_appendf(b, "[%s truncated: %llu bytes dropped; raise inline-limit to keep more]\n",
			    stream, (unsigned long long)c->truncated);
}

void ui_format_done(struct buf *b, const char *display, enum ui_outcome o, uint64_t duration_ns,
		    const struct job_result *res, const char *detail, unsigned width, bool color,
		    bool with_output)
{
	const char *word = ui_outcome_word(o);
	char dur[40] = "", trailer_dur[48] = "";
	if (res) {
		format_duration(dur, sizeof(dur), duration_ns);
		snprintf(trailer_dur, sizeof(trailer_dur), " %8s", dur);
	}
	size_t fixed = ui_cols(display) + 2 + strlen(word) + strlen(trailer_dur);
	size_t dots = width > fixed ? width - fixed : 0;
	if (dots < 3)
		dots = 3;

	ui_put_colored(b, color, UI_SGR_BOLD, display);
	buf_appends(b, " ");
	for (size_t i = 0; i < dots; i++)
		buf_appends(b, ".");
	buf_appends(b, " ");
	ui_put_colored(b, color, ui_outcome_sgr(o), word);
	buf_appends(b, trailer_dur);
	buf_appends(b, "\n");

	if (!with_output)
		return;
	bool failure = ui_outcome_shows_output(o);
	if (detail && *detail) {
		buf_appends(b, detail);
		ensure_newline(b);
	} else if (failure && res) {
		size_t before = b->len;
		describe_result(b, res);
		if (b->len > before)
			buf_appends(b, "\n");
	}
	if (failure && res) {
		format_stream(b, display, "stdout", &res->out);
		format_stream(b, display, "stderr", &res->err);
	}
}

/* ---- the summary ---------------------------------------------------------- */

struct count_row {
	const char *label;
	const char *sgr;   /* NULL: plain */
	char value[40];
};

static void format_entries(struct buf *b, const struct ui_summary_entry *e, size_t n, bool color)
{
	size_t wide = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = ui_cols(e[i].display);
		if (w > wide)
			wide = w;
	}
	for (size_t i = 0; i < n; i++) {
		buf_appends(b, "    ");
		buf_appends(b, e[i].display);
		for (size_t w = ui_cols(e[i].display); w < wide; w++)
			buf_appends(b, " ");
		buf_appends(b, ": ");
		ui_put_colored(b, color, ui_outcome_sgr(e[i].outcome), ui_outcome_word(e[i].outcome));
		buf_appends(b, "\n");
	}
}

static void format_row(struct buf *b, const struct count_row *r, size_t label_w, size_t value_w,
		       bool color)
{
	ui_put_colored(b, color && r->sgr, r->sgr ? r->sgr : "", r->label);
	for (size_t w = strlen(r->label); w < label_w; w++)
		buf_appends(b, " ");
	buf_appendf(b, ": %*s\n", (int)value_w, r->value);
}

void ui_format_summary(struct buf *b, const struct ui_summary *s, unsigned width, bool color)
{
	enum { ROW_OK, ROW_FAILED, ROW_IGNORED, ROW_NOT_RUN, ROW_WALL, ROWS };
	struct count_row rows[ROWS] = {
		[ROW_OK] = { "Successful tests", UI_SGR_GREEN, "" },
		[ROW_FAILED] = { "Failed tests", s->n_failed ? UI_SGR_RED : NULL, "" },
		[ROW_IGNORED] = { "Ignored tests", UI_SGR_YELLOW, "" },
		[ROW_NOT_RUN] = { "Not run", NULL, "" },
		[ROW_WALL] = { "Wall time", NULL, "" },
	};
	bool shown[ROWS] = { true, true, s->n_ignored > 0, s->not_run > 0, s->wall_ns > 0 };
	snprintf(rows[ROW_OK].value, sizeof(rows[ROW_OK].value), "%zu", s->passed);
	snprintf(rows[ROW_FAILED].value, sizeof(rows[ROW_FAILED].value), "%zu", s->n_failed);
	snprintf(rows[ROW_IGNORED].value, sizeof(rows[ROW_IGNORED].value), "%zu", s->n_ignored);
	snprintf(rows[ROW_NOT_RUN].value, sizeof(rows[ROW_NOT_RUN].value), "%zu", s->not_run);
	format_duration(rows[ROW_WALL].value, sizeof(rows[ROW_WALL].value), s->wall_ns);

	/* Counts line up right-aligned; the wall time is not a count. */
	size_t label_w = 0, value_w = 0;
	for (int i = 0; i < ROWS; i++) {
		if (!shown[i])
			continue;
		if (strlen(rows[i].label) > label_w)
			label_w = strlen(rows[i].label);
		if (i != ROW_WALL && strlen(rows[i].value) > value_w)
			value_w = strlen(rows[i].value);
	}

	static const char heading[] = " Test Summary ";
	size_t rule = width > sizeof(heading) - 1 ? width - (sizeof(heading) - 1) : 6;
	buf_appends(b, "\n");
	for (size_t i = 0; i < rule / 2; i++)
		buf_appends(b, "=");
	buf_appends(b, heading);
	for (size_t i = 0; i < rule - rule / 2; i++)
		buf_appends(b, "=");
	buf_appends(b, "\n");

	format_row(b, &rows[ROW_OK], label_w, value_w, color);
	format_row(b, &rows[ROW_FAILED], label_w, value_w, color);
	format_entries(b, s->failed, s->n_failed, color);
	if (shown[ROW_IGNORED]) {
		format_row(b, &rows[ROW_IGNORED], label_w, value_w, color);
		format_entries(b, s->ignored, s->n_ignored, color);
	}
	if (shown[ROW_NOT_RUN])
		format_row(b, &rows[ROW_NOT_RUN], label_w, value_w, color);
	if (shown[ROW_WALL])
		format_row(b, &rows[ROW_WALL], label_w, 0, color);
}
