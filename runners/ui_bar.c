/* The status area: the progress bar line, and in fancy style the running
 * tests above it. Pure functions of a struct ui_status. */
#include "runners/ui_internal.h"

#include <stdio.h>
#include <string.h>

/* A line being built, with the columns it takes so far and its limit. */
struct line {
	struct buf *b;
	size_t cols, limit;
	bool color;
};

static void put(struct line *l, const char *s)
{
	buf_appends(l->b, s);
	l->cols += ui_cols(s);
}

static void put_sgr(struct line *l, const char *sgr, const char *s)
{
	ui_put_colored(l->b, l->color, sgr, s);
	l->cols += ui_cols(s);
}

static bool fits(const struct line *l, size_t more)
{
	return l->cols + more <= l->limit;
}

static void put_bar(struct line *l, size_t cells, size_t done, size_t total)
{
	if (done > total)
		done = total;
	size_t filled = total ? done * cells / total : 0;
	struct buf fill = BUF_INIT;
	for (size_t i = 0; i < filled; i++)
		buf_appends(&fill, "=");
	if (filled < cells)
		buf_appends(&fill, ">");
	put(l, "[");
	put_sgr(l, UI_SGR_GREEN, fill.data);
	for (size_t i = fill.len; i < cells; i++)
		put(l, " ");
	put(l, "] ");
	buf_release(&fill);
}

/* "3 waiting for artifacts, 10 pending, 4 running, 1 failed", or the short
 * form. Returns its width; appends only when `l` is given. */
static size_t put_states(struct line *l, const struct ui_counts *c, bool brief)
{
	char text[160], failed[48] = "";
	if (brief)
		snprintf(text, sizeof(text), "%zu wait, %zu pend, %zu run", c->waiting_for_artifacts,
			 c->pending, c->running);
	else
		snprintf(text, sizeof(text), "%zu waiting for artifacts, %zu pending, %zu running",
			 c->waiting_for_artifacts, c->pending, c->running);
	if (c->failed)
		snprintf(failed, sizeof(failed), "%zu %s", c->failed, brief ? "fail" : "failed");
	size_t cols = strlen(text) + (c->failed ? 2 + strlen(failed) : 0);
	if (l) {
		put(l, text);
		if (c->failed) {
			put(l, ", ");
			put_sgr(l, UI_SGR_RED, failed);
		}
	}
	return cols;
}

/* Appends the last `cols` columns of s (whole code points). */
static void put_tail(struct buf *b, const char *s, size_t cols)
{
	size_t skip = ui_cols(s) - cols;
	const char *p = s;
	while (*p) {
		if (((unsigned char)*p & 0xc0) != 0x80) {
			if (skip == 0)
				break;
			skip--;
		}
		p++;
	}
	buf_appends(b, p);
}

/* The shortest tail of a name worth showing ("..." and 10 columns). */
#define MIN_NAME_TAIL 13u

/* " | name, name, +N more": as many running tests as fit, oldest first; the
 * first one keeps its end when it is too long for the room. */
static void put_names(struct line *l, const struct ui_status *s)
{
	char more[48];
	size_t shown = 0;
	for (size_t i = 0; i < s->n_running; i++) {
		const char *sep = i ? ", " : " | ";
		const char *name = s->running[i].display;
		size_t left = s->n_running - i - 1;
		size_t more_w = left ? (size_t)snprintf(more, sizeof(more), ", +%zu more", left) : 0;
		size_t need = strlen(sep) + ui_cols(name) + more_w;
		if (fits(l, need)) {
			put(l, sep);
			put(l, name);
			shown++;
			continue;
		}
		size_t fixed = l->cols + strlen(sep) + more_w;
		if (i == 0 && l->limit > fixed && l->limit - fixed >= MIN_NAME_TAIL) {
			size_t room = l->limit - fixed;
			put(l, sep);
			put(l, "...");
			put_tail(l->b, name, room - 3);
			l->cols += room - 3;
			shown++;
		}
		break;
	}
	if (shown < s->n_running) {
		snprintf(more, sizeof(more), "%s+%zu more", shown ? ", " : " | ",
			 s->n_running - shown);
		if (fits(l, strlen(more)))
			put(l, more);
	}
}

/* Columns kept for running tests' names in simple style, when possible. */
#define NAMES_ROOM 25u

/* Bar sizes tried, widest first. */
static const size_t bar_sizes[] = { 30, 20, 10, 0 };

/* Picks the widest bar of at least min_cells that leaves room for the
 * states (their width given, 0 for none). Returns false if none fits. */
static bool choose(const struct line *l, size_t ratio, size_t states, size_t min_cells,
		   size_t *cells)
{
	for (size_t i = 0; i < sizeof(bar_sizes) / sizeof(bar_sizes[0]); i++) {
		size_t bar = bar_sizes[i] ? bar_sizes[i] + 3 : 0;
		if (bar_sizes[i] >= min_cells && fits(l, bar + ratio + states)) {
			*cells = bar_sizes[i];
			return true;
		}
	}
	return false;
}

static void render_bar_line(const struct ui_status *s, size_t limit, struct buf *out)
{
	struct line l = { out, 0, limit, s->color };
	const struct ui_counts *c = &s->counts;
	size_t total = s->total;
	size_t seen = c->completed + c->running + c->pending + c->waiting_for_artifacts;
	if (total < seen)
		total = seen;

	/* As the line narrows: the bar shrinks to 10 cells, the counts shorten,
	 * the bar goes, then the counts go. In simple style, room for the names
	 * of running tests is kept first, at the cost of the long counts. */
	char ratio[48];
	size_t ratio_w = (size_t)snprintf(ratio, sizeof(ratio), "%zu/%zu", c->completed, total);
	size_t full = 3 + put_states(NULL, c, false), brief = 3 + put_states(NULL, c, true);
	size_t names = !s->fancy && s->n_running ? NAMES_ROOM : 0;
	size_t cells = 0;
	int form;
	if (names && choose(&l, ratio_w, full + names, 10, &cells))
		form = 2;
	else if (names && choose(&l, ratio_w, brief + names, 10, &cells))
		form = 1;
	else if (choose(&l, ratio_w, full, 10, &cells))
		form = 2;
	else if (choose(&l, ratio_w, brief, 10, &cells))
		form = 1;
	else if (choose(&l, ratio_w, full, 0, &cells))
		form = 2;
	else if (choose(&l, ratio_w, brief, 0, &cells))
		form = 1;
	else if (choose(&l, ratio_w, 0, 0, &cells))
		form = 0;
	else
		return;

	if (cells)
		put_bar(&l, cells, c->completed, total);
	put(&l, ratio);
	if (form) {
		put(&l, " | ");
		put_states(&l, c, form == 1);
	}
	if (!s->fancy)
		put_names(&l, s);
}

static void render_running_line(const struct ui_running_test *t, uint64_t now, size_t limit,
				 struct buf *out)
{
	uint64_t secs = now > t->started_ns ? (now - t->started_ns) / 1000000000u : 0;
	char elapsed[32], head[48];
	if (secs < 60)
		snprintf(elapsed, sizeof(elapsed), "%llus", (unsigned long long)secs);
	else
		snprintf(elapsed, sizeof(elapsed), "%llum%02llus", (unsigned long long)(secs / 60),
			 (unsigned long long)(secs % 60));
	snprintf(head, sizeof(head), "  %6s  ", elapsed);
	size_t head_cols = strlen(head);
	if (head_cols >= limit)
		return;
	buf_appends(out, head);
	size_t room = limit - head_cols, name = ui_cols(t->display);
	if (name <= room) {
		buf_appends(out, t->display);
	} else if (room > 3) {
		buf_appends(out, "...");
		put_tail(out, t->display, room - 3);
	}
}

unsigned ui_render_bar(const struct ui_status *s, struct buf *out)
{
	size_t width = s->width ? s->width : UI_PLAIN_WIDTH;
	size_t limit = width - 1;
	unsigned lines = 0;

	if (s->fancy && s->n_running) {
		size_t height = s->height ? s->height : 24;
		size_t cap = height / 2 < 8 ? height / 2 : 8;
		size_t show = s->n_running <= cap ? s->n_running : (cap ? cap - 1 : 0);
		for (size_t i = 0; i < show; i++, lines++) {
			render_running_line(&s->running[i], s->now_ns, limit, out);
			buf_appends(out, "\n");
		}
		if (show < s->n_running && cap) {
			char more[64];
			snprintf(more, sizeof(more), "  ... and %zu more running", s->n_running - show);
			if (strlen(more) <= limit)
				buf_appends(out, more);
			buf_appends(out, "\n");
			lines++;
		}
	}
	render_bar_line(s, limit, out);
	return lines + 1;
}
