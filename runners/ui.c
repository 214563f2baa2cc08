/* The UI object: state, the redraw timer, and output on the fd. */
#include "runners/ui.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "runners/ui_internal.h"

/* At most 10 redraws a second; in fancy style, a tick a second while tests
 * run keeps their times current. */
#define REDRAW_INTERVAL_NS 100000000ull
#define TICK_INTERVAL_NS 1000000000ull

struct ui {
	struct reactor *r;
	int fd;
	enum ui_style style;   /* resolved: UI_SIMPLE, UI_FANCY or UI_QUIET */
	bool tty, color;
	bool broken;           /* a write failed: output is dropped from now on */
	struct buf out;        /* bytes of the current update, written in one go */

	struct ui_counts counts;
	size_t total;
	struct ui_running_test *running;   /* oldest first; names owned */
	size_t n_running, cap_running;

	bool active;           /* the status area is wanted (terminal only) */
	bool dirty;            /* state changed since it was drawn */
	unsigned drawn_lines;  /* lines of the status area on screen, 0 if none */
	uint64_t last_draw_ns;
	uint64_t timer, timer_due_ns;
};

/* ---- choosing a style ------------------------------------------------------ */

int ui_style_parse(const char *text, enum ui_style *out, struct err **err)
{
	if (strcmp(text, "auto") == 0)
		*out = UI_AUTO;
	else if (strcmp(text, "simple") == 0)
		*out = UI_SIMPLE;
	else if (strcmp(text, "fancy") == 0)
		*out = UI_FANCY;
	else if (strcmp(text, "quiet") == 0)
		*out = UI_QUIET;
	else
		return err_set(err, 0, "unknown style \"%s\" (use auto, simple, fancy or quiet)",
			       text);
	return 0;
}

int ui_style_choose(enum ui_style ui, bool quiet, bool is_tty, enum ui_style *out,
		    struct err **err)
{
	switch (ui) {
	case UI_FANCY:
		if (quiet)
			return err_set(err, 0,
				       "ui: the fancy style cannot be combined with quiet "
				       "(use ui = \"simple\" or \"auto\", or drop quiet)");
		if (!is_tty)
			return err_set(err, 0,
				       "ui: the fancy style needs standard output to be a terminal "
				       "(use ui = \"simple\" or \"auto\")");
		*out = UI_FANCY;
		return 0;
	case UI_AUTO:
		*out = quiet ? UI_QUIET : is_tty ? UI_FANCY : UI_SIMPLE;
		return 0;
	case UI_SIMPLE:
		*out = quiet ? UI_QUIET : UI_SIMPLE;
		return 0;
	case UI_QUIET:
		*out = UI_QUIET;
		return 0;
	}
	return err_set(err, 0, "ui: unknown style %d", (int)ui);
}

bool ui_want_color(int fd)
{
	const char *no_color = getenv("NO_COLOR");
	if (no_color && *no_color)
		return false;
	return isatty(fd) == 1;
}

/* ---- output ------------------------------------------------------------------ */

static void flush_out(struct ui *ui)
{
	int saved = errno;
	size_t off = 0;
	while (!ui->broken && off < ui->out.len) {
		ssize_t n = write(ui->fd, ui->out.data + off, ui->out.len - off);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* A non-blocking fd shared with someone else: wait. */
			struct pollfd p = { .fd = ui->fd, .events = POLLOUT };
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				ui->broken = true;
		} else {
			ui->broken = true;
		}
	}
	buf_reset(&ui->out);
	errno = saved;
}

static void term_size(const struct ui *ui, unsigned *width, unsigned *height)
{
	struct winsize ws;
	*width = UI_PLAIN_WIDTH;
	*height = 24;
	if (!ui->tty || ioctl(ui->fd, TIOCGWINSZ, &ws) < 0)
		return;
	if (ws.ws_col)
		*width = ws.ws_col;
	if (ws.ws_row)
		*height = ws.ws_row;
}

/* Appends what erases the status area (the cursor is at the end of its
 * last line). */
static void erase(struct ui *ui)
{
	if (!ui->drawn_lines)
		return;
	buf_appends(&ui->out, "\r");
	if (ui->drawn_lines > 1)
		buf_appendf(&ui->out, "\033[%uA", ui->drawn_lines - 1);
	buf_appends(&ui->out, "\033[J");
	ui->drawn_lines = 0;
}

static void on_timer(struct reactor *r, void *arg);

/* Makes sure the timer fires by `due` (keeping an earlier one). */
static void schedule(struct ui *ui, uint64_t due)
{
	if (ui->timer && ui->timer_due_ns <= due)
		return;
	reactor_timer_cancel(ui->r, ui->timer);
	uint64_t now = reactor_now_ns();
	ui->timer = reactor_timer_add(ui->r, due > now ? due - now : 0, on_timer, ui);
	ui->timer_due_ns = due;
}

/* Appends the status area (after erase()). */
static void draw(struct ui *ui)
{
	if (!ui->active)
		return;
	unsigned width, height;
	term_size(ui, &width, &height);
	uint64_t now = reactor_now_ns();
	struct ui_status s = {
		.counts = ui->counts,
		.total = ui->total,
		.running = ui->running,
		.n_running = ui->n_running,
		.now_ns = now,
		.width = width,
		.height = height,
		.fancy = ui->style == UI_FANCY,
		.color = ui->color,
	};
	ui->drawn_lines = ui_render_bar(&s, &ui->out);
	ui->dirty = false;
	ui->last_draw_ns = now;
	if (s.fancy && ui->n_running)
		schedule(ui, now + TICK_INTERVAL_NS);
}

static void redraw(struct ui *ui)
{
	erase(ui);
	draw(ui);
	flush_out(ui);
}

static void on_timer(struct reactor *r, void *arg)
{
	(void)r;
	struct ui *ui = arg;
	ui->timer = 0;
	bool tick_due = ui->style == UI_FANCY && ui->n_running && ui->active &&
			reactor_now_ns() >= ui->last_draw_ns + TICK_INTERVAL_NS - REDRAW_INTERVAL_NS;
	if (ui->dirty || tick_due)
		redraw(ui);
}

/* State changed: redraw soon, at most 10 times a second. */
static void changed(struct ui *ui)
{
	if (!ui->tty || !ui->active)
		return;
	ui->dirty = true;
	schedule(ui, ui->last_draw_ns + REDRAW_INTERVAL_NS);
}

static void activate(struct ui *ui)
{
	if (ui->tty)
		ui->active = true;
	changed(ui);
}

/* Prints text (whole lines) above the status area. */
static void print_above(struct ui *ui, const char *text, size_t len)
{
	bool had_bar = ui->drawn_lines > 0;
	erase(ui);
	buf_append(&ui->out, text, len);
	if (had_bar || ui->dirty)
		draw(ui);
	flush_out(ui);
}

/* ---- the UI -------------------------------------------------------------------- */

struct ui *ui_new(struct reactor *r, enum ui_style style, int out_fd, bool color)
{
	struct ui *ui = calloc(1, sizeof(*ui));
	if (!ui)
		abort(); /* out of memory */
	ui->r = r;
	ui->fd = out_fd;
	ui->tty = isatty(out_fd) == 1;
	ui->color = color;
	switch (style) {
	case UI_AUTO:
		ui->style = ui->tty ? UI_FANCY : UI_SIMPLE;
		break;
	case UI_FANCY:
		ui->style = ui->tty ? UI_FANCY : UI_SIMPLE;
		break;
	case UI_SIMPLE:
	case UI_QUIET:
		ui->style = style;
		break;
	}
	buf_init(&ui->out);
	return ui;
}

void ui_free(struct ui *ui)
{
	if (!ui)
		return;
	reactor_timer_cancel(ui->r, ui->timer);
	erase(ui);
	flush_out(ui);
	for (size_t i = 0; i < ui->n_running; i++)
		free((char *)ui->running[i].display);
	free(ui->running);
	buf_release(&ui->out);
	free(ui);
}

void ui_set_total(struct ui *ui, size_t total)
{
	ui->total = total;
	activate(ui);
}

void ui_set_counts(struct ui *ui, const struct ui_counts *c)
{
	ui->counts = *c;
	activate(ui);
}

void ui_test_running(struct ui *ui, const char *display)
{
	if (ui->n_running == ui->cap_running) {
		size_t cap = ui->cap_running ? ui->cap_running * 2 : 16;
		struct ui_running_test *grown = reallocarray(ui->running, cap, sizeof(*grown));
		if (!grown)
			abort(); /* out of memory */
		ui->running = grown;
		ui->cap_running = cap;
	}
	char *copy = strdup(display);
	if (!copy)
		abort(); /* out of memory */
	ui->running[ui->n_running++] = (struct ui_running_test){ copy, reactor_now_ns() };
	activate(ui);
}

void ui_test_not_running(struct ui *ui, const char *display)
{
	for (size_t i = 0; i < ui->n_running; i++) {
		if (strcmp(ui->running[i].display, display) != 0)
			continue;
		free((char *)ui->running[i].display);
		memmove(&ui->running[i], &ui->running[i + 1],
			(ui->n_running - i - 1) * sizeof(ui->running[0]));
		ui->n_running--;
		changed(ui);
		return;
	}
}

void ui_test_done(struct ui *ui, const char *display, enum ui_outcome o, uint64_t duration_ns,
		  const struct job_result *res, const char *detail)
{
	ui_test_not_running(ui, display);
	if (ui->style == UI_QUIET)
		return;
	unsigned width, height;
	term_size(ui, &width, &height);
	struct buf text = BUF_INIT;
	ui_format_done(&text, display, o, duration_ns, res, detail, width, ui->color, true);
	print_above(ui, text.data, text.len);
	buf_release(&text);
}

void ui_message(struct ui *ui, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vappendf(&text, fmt, ap);
	va_end(ap);
	if (!text.len || text.data[text.len - 1] != '\n')
		buf_appends(&text, "\n");
	print_above(ui, text.data, text.len);
	buf_release(&text);
}

void ui_summary(struct ui *ui, const struct ui_summary *s)
{
	reactor_timer_cancel(ui->r, ui->timer);
	ui->timer = 0;
	ui->active = false;
	ui->dirty = false;
	unsigned width, height;
	term_size(ui, &width, &height);
	erase(ui);
	ui_format_summary(&ui->out, s, width, ui->color);
	flush_out(ui);
}

void ui_refresh(struct ui *ui)
{
	if (ui->dirty)
		redraw(ui);
}
