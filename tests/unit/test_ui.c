/* Unit tests for runners/ui: plain lines, failure output, the summary,
 * colors, the bar rendering, and the live bar on a pseudo-terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/reactor.h"
#include "runners/ui.h"

/* ---- helpers ------------------------------------------------------------- */

/* n copies of c, in a static buffer (n < 256). */
static const char *rep(char c, size_t n)
{
	static char s[4][256];
	static int which;
	char *p = s[which++ % 4];
	assert_true(n < 256);
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

/* A memfd standing for a file or pipe: not a terminal. */
static int out_file(void)
{
	int fd = memfd_create("ui-out", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Everything written to the memfd so far (then empties it). */
static char *take(int fd)
{
	off_t end = lseek(fd, 0, SEEK_CUR);
	assert_true(end >= 0);
	char *s = calloc(1, (size_t)end + 1);
	assert_non_null(s);
	assert_int_equal(pread(fd, s, (size_t)end, 0), end);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return s;
}

static void assert_output(int fd, const char *expected)
{
	char *got = take(fd);
	if (strcmp(got, expected) != 0)
		fprintf(stderr, "got:\n%s\nexpected:\n%s\n", got, expected);
	assert_string_equal(got, expected);
	free(got);
}

static struct reactor *new_reactor(void)
{
	struct reactor *r = NULL;
	struct err *e = NULL;
	assert_int_equal(reactor_new(&r, 0, &e), 0);
	return r;
}

static struct job_result exited(int code, uint64_t ns)
{
	struct job_result res = { .outcome = JOB_EXITED, .code = code, .duration_ns = ns };
	return res;
}

/* Sets a stream of a result (the strings are not freed: test literals). */
static void set_stream(struct captured *c, const char *data, uint64_t truncated)
{
	c->data = (char *)data;
	c->len = data ? strlen(data) : 0;
	c->truncated = truncated;
}

/* ---- choosing a style ----------------------------------------------------- */

static void test_style_choice(void **state)
{
	(void)state;
	enum ui_style s;
	struct err *e = NULL;
	assert_int_equal(ui_style_parse("auto", &s, &e), 0);
	assert_int_equal(s, UI_AUTO);
	assert_int_equal(ui_style_parse("simple", &s, &e), 0);
	assert_int_equal(s, UI_SIMPLE);
	assert_int_equal(ui_style_parse("fancy", &s, &e), 0);
	assert_int_equal(s, UI_FANCY);
	assert_int_equal(ui_style_parse("plain", &s, &e), -1);
	assert_non_null(strstr(err_msg(e), "\"plain\""));
	err_free(&e);

	assert_int_equal(ui_style_choose(UI_AUTO, false, true, &s, &e), 0);
	assert_int_equal(s, UI_FANCY);
	assert_int_equal(ui_style_choose(UI_AUTO, false, false, &s, &e), 0);
	assert_int_equal(s, UI_SIMPLE);
	assert_int_equal(ui_style_choose(UI_AUTO, true, true, &s, &e), 0);
	assert_int_equal(s, UI_QUIET);
	assert_int_equal(ui_style_choose(UI_SIMPLE, true, false, &s, &e), 0);
	assert_int_equal(s, UI_QUIET);
	assert_int_equal(ui_style_choose(UI_SIMPLE, false, true, &s, &e), 0);
	assert_int_equal(s, UI_SIMPLE);
	assert_int_equal(ui_style_choose(UI_FANCY, false, true, &s, &e), 0);
	assert_int_equal(s, UI_FANCY);
	assert_int_equal(ui_style_choose(UI_FANCY, true, true, &s, &e), -1);
	assert_non_null(strstr(err_msg(e), "quiet"));
	err_free(&e);
	assert_int_equal(ui_style_choose(UI_FANCY, false, false, &s, &e), -1);
	assert_non_null(strstr(err_msg(e), "terminal"));
	err_free(&e);
}

static void test_want_color(void **state)
{
	(void)state;
	int fd = out_file();
	unsetenv("NO_COLOR");
	assert_false(ui_want_color(fd)); /* not a terminal */
	close(fd);

	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	int tty = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(tty >= 0);
	assert_true(ui_want_color(tty));
	setenv("NO_COLOR", "", 1); /* empty: does not count */
	assert_true(ui_want_color(tty));
	setenv("NO_COLOR", "1", 1);
	assert_false(ui_want_color(tty));
	unsetenv("NO_COLOR");
	close(tty);
	close(master);
}

/* ---- plain output (not a terminal) ---------------------------------------- */

static void test_plain_lines(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int fd = out_file();
	struct ui *ui = ui_new(r, UI_AUTO, fd, false); /* auto: simple here */

	/* State changes draw nothing without a terminal. */
	ui_set_total(ui, 3);
	struct ui_counts c = { .running = 1 };
	ui_set_counts(ui, &c);
	ui_test_running(ui, "pkg test_a");
	assert_output(fd, "");

	struct job_result ok = exited(0, 12345678);
	ui_test_done(ui, "pkg test_a", UI_OK, ok.duration_ns, &ok, NULL);
	char want[512];
	snprintf(want, sizeof(want), "pkg test_a %s OK   0.012s\n", rep('.', 57));
	assert_output(fd, want);

	ui_test_done(ui, "pkg test_ign", UI_IGNORED, 0, NULL, NULL);
	snprintf(want, sizeof(want), "pkg test_ign %s IGNORED\n", rep('.', 59));
	assert_output(fd, want);

	struct job_result skip = exited(0, 0);
	ui_test_done(ui, "t_skip", UI_SKIPPED, 0, &skip, "needs network");
	snprintf(want, sizeof(want), "t_skip %s SKIPPED   0.000s\nneeds network\n", rep('.', 56));
	assert_output(fd, want);

	/* A name too long for the width keeps three dots and runs over. */
	const char *longname = rep('n', 90);
	struct job_result slow = exited(0, 1500000000);
	ui_test_done(ui, longname, UI_OK, slow.duration_ns, &slow, NULL);
	snprintf(want, sizeof(want), "%s ... OK   1.500s\n", longname);
	assert_output(fd, want);

	/* Multi-byte names count one column per code point. */
	ui_test_done(ui, "t_\xc3\xa9t\xc3\xa9", UI_OK, 0, &skip, NULL);
	snprintf(want, sizeof(want), "t_\xc3\xa9t\xc3\xa9 %s OK   0.000s\n", rep('.', 62));
	assert_output(fd, want);

	ui_message(ui, "warning: %s", "something");
	assert_output(fd, "warning: something\n");
	ui_message(ui, "two\nlines\n");
	assert_output(fd, "two\nlines\n");

	ui_free(ui);
	assert_output(fd, ""); /* nothing to erase */
	close(fd);
	reactor_free(r);
}

static void test_failure_output(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int fd = out_file();
	struct ui *ui = ui_new(r, UI_SIMPLE, fd, false);
	char want[1024];

	struct job_result fail = exited(101, 104000000);
	set_stream(&fail.out, "hello\nworld\n", 0);
	set_stream(&fail.err, "boom", 10);
	ui_test_running(ui, "pkg test_b");
	ui_test_done(ui, "pkg test_b", UI_FAIL, fail.duration_ns, &fail, NULL);
	snprintf(want, sizeof(want),
		 "pkg test_b %s FAIL   0.104s\n"
		 "exited with code 101\n"
		 "---- pkg test_b stdout ----\n"
		 "hello\nworld\n"
		 "---- pkg test_b stderr ----\n"
		 "boom\n"
		 "[stderr truncated: 10 bytes dropped; raise inline-limit to keep more]\n",
		 rep('.', 55));
	assert_output(fd, want);

	/* Everything truncated: the heading and the note, no bytes. */
	struct job_result sig = { .outcome = JOB_SIGNALED, .code = 6, .duration_ns = 2000000 };
	set_stream(&sig.out, NULL, 5);
	ui_test_done(ui, "t_abort", UI_FAIL, sig.duration_ns, &sig, NULL);
	snprintf(want, sizeof(want),
		 "t_abort %s FAIL   0.002s\n"
		 "killed by signal 6 (SIGABRT)\n"
		 "---- t_abort stdout ----\n"
		 "[stdout truncated: 5 bytes dropped; raise inline-limit to keep more]\n",
		 rep('.', 58));
	assert_output(fd, want);

	struct job_result to = { .outcome = JOB_TIMED_OUT, .message = "timed out after 5 s",
				 .duration_ns = 5000000000u };
	ui_test_done(ui, "t_slow", UI_TIMEOUT, to.duration_ns, &to, NULL);
	snprintf(want, sizeof(want), "t_slow %s TIMEOUT   5.000s\ntimed out after 5 s\n",
		 rep('.', 56));
	assert_output(fd, want);

	/* The caller's detail wins over the result's own words. */
	struct job_result ee = { .outcome = JOB_EXECUTION_ERROR, .message = "no such program" };
	ui_test_done(ui, "t_err", UI_ERROR, 0, &ee, "directive 2: layer missing");
	snprintf(want, sizeof(want), "t_err %s ERROR   0.000s\ndirective 2: layer missing\n",
		 rep('.', 59));
	assert_output(fd, want);
	ui_test_done(ui, "t_err", UI_ERROR, 0, &ee, NULL);
	snprintf(want, sizeof(want), "t_err %s ERROR   0.000s\nexecution error: no such program\n",
		 rep('.', 59));
	assert_output(fd, want);

	/* Output is not shown for passing outcomes. */
	struct job_result xp = exited(0, 0);
	set_stream(&xp.out, "noise\n", 0);
	ui_test_done(ui, "t_xpass", UI_XPASS, 0, &xp, NULL);
	snprintf(want, sizeof(want), "t_xpass %s XPASS   0.000s\n", rep('.', 57));
	assert_output(fd, want);

	ui_free(ui);
	close(fd);
	reactor_free(r);
}

static void test_color(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int fd = out_file();
	struct ui *ui = ui_new(r, UI_SIMPLE, fd, true);
	char want[512];

	struct job_result ok = exited(0, 12000000);
	ui_test_done(ui, "pkg test_a", UI_OK, ok.duration_ns, &ok, NULL);
	snprintf(want, sizeof(want), "\033[1mpkg test_a\033[0m %s \033[32mOK\033[0m   0.012s\n",
		 rep('.', 57));
	assert_output(fd, want);
	ui_test_done(ui, "t", UI_IGNORED, 0, NULL, NULL);
	snprintf(want, sizeof(want), "\033[1mt\033[0m %s \033[33mIGNORED\033[0m\n", rep('.', 70));
	assert_output(fd, want);
	struct job_result bad = exited(1, 0);
	ui_test_done(ui, "t", UI_FAIL, 0, &bad, NULL);
	snprintf(want, sizeof(want), "\033[1mt\033[0m %s \033[31mFAIL\033[0m   0.000s\n"
		 "exited with code 1\n", rep('.', 64));
	assert_output(fd, want);
	ui_free(ui);

	/* The same without color has no escape at all. */
	ui = ui_new(r, UI_SIMPLE, fd, false);
	ui_test_done(ui, "t", UI_FAIL, 0, &bad, NULL);
	char *got = take(fd);
	assert_null(strchr(got, '\033'));
	free(got);
	ui_free(ui);
	close(fd);
	reactor_free(r);
}

static void test_summary(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int fd = out_file();
	struct ui *ui = ui_new(r, UI_SIMPLE, fd, false);

	struct ui_summary_entry failed[] = {
		{ "pkg test_b", UI_FAIL },
		{ "pkg test_slowest", UI_TIMEOUT },
	};
	struct ui_summary_entry ignored[] = { { "pkg test_ign", UI_IGNORED } };
	struct ui_summary s = {
		.passed = 5,
		.failed = failed, .n_failed = 2,
		.ignored = ignored, .n_ignored = 1,
		.not_run = 3,
		.wall_ns = 3210000000u,
	};
	ui_summary(ui, &s);
	char want[1024];
	snprintf(want, sizeof(want),
		 "\n%s Test Summary %s\n"
		 "Successful tests: 5\n"
		 "Failed tests    : 2\n"
		 "    pkg test_b      : FAIL\n"
		 "    pkg test_slowest: TIMEOUT\n"
		 "Ignored tests   : 1\n"
		 "    pkg test_ign: IGNORED\n"
		 "Not run         : 3\n"
		 "Wall time       : 3.210s\n",
		 rep('=', 33), rep('=', 33));
	assert_output(fd, want);

	/* All passed: no ignored row, counts right-aligned. */
	struct ui_summary all = { .passed = 12 };
	ui_summary(ui, &all);
	snprintf(want, sizeof(want),
		 "\n%s Test Summary %s\n"
		 "Successful tests: 12\n"
		 "Failed tests    :  0\n",
		 rep('=', 33), rep('=', 33));
	assert_output(fd, want);
	ui_free(ui);

	/* With color: labels and words colored; a zero failure count is not red. */
	ui = ui_new(r, UI_SIMPLE, fd, true);
	ui_summary(ui, &all);
	snprintf(want, sizeof(want),
		 "\n%s Test Summary %s\n"
		 "\033[32mSuccessful tests\033[0m: 12\n"
		 "Failed tests    :  0\n",
		 rep('=', 33), rep('=', 33));
	assert_output(fd, want);
	struct ui_summary one = { .failed = failed, .n_failed = 1 };
	ui_summary(ui, &one);
	snprintf(want, sizeof(want),
		 "\n%s Test Summary %s\n"
		 "\033[32mSuccessful tests\033[0m: 0\n"
		 "\033[31mFailed tests\033[0m    : 1\n"
		 "    pkg test_b: \033[31mFAIL\033[0m\n",
		 rep('=', 33), rep('=', 33));
	assert_output(fd, want);
	ui_free(ui);
	close(fd);
	reactor_free(r);
}

static void test_quiet_plain(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	int fd = out_file();
	struct ui *ui = ui_new(r, UI_QUIET, fd, false);
	ui_set_total(ui, 2);
	ui_test_running(ui, "a");
	struct job_result bad = exited(1, 0);
	set_stream(&bad.out, "output\n", 0);
	ui_test_done(ui, "a", UI_FAIL, 0, &bad, NULL);
	ui_test_done(ui, "b", UI_OK, 0, &bad, NULL);
	assert_output(fd, ""); /* nothing per test */
	ui_message(ui, "build finished");
	assert_output(fd, "build finished\n");
	struct ui_summary_entry failed[] = { { "a", UI_FAIL } };
	struct ui_summary s = { .passed = 1, .failed = failed, .n_failed = 1 };
	ui_summary(ui, &s);
	char want[512];
	snprintf(want, sizeof(want),
		 "\n%s Test Summary %s\n"
		 "Successful tests: 1\n"
		 "Failed tests    : 1\n"
		 "    a: FAIL\n",
		 rep('=', 33), rep('=', 33));
	assert_output(fd, want);
	ui_free(ui);
	close(fd);
	reactor_free(r);
}

/* ---- the bar, rendered ----------------------------------------------------- */

static const struct ui_running_test four[] = {
	{ "pkg test_a", 0 }, { "pkg test_b", 0 }, { "pkg test_c", 0 }, { "pkg test_d", 0 },
};

static char *render(const struct ui_status *s, unsigned *lines)
{
	struct buf b = BUF_INIT;
	unsigned n = ui_render_bar(s, &b);
	if (lines)
		*lines = n;
	return buf_detach(&b, NULL);
}

static void assert_bar(unsigned width, const char *expected)
{
	struct ui_status s = {
		.counts = { .waiting_for_artifacts = 3, .pending = 10, .running = 4,
			    .completed = 12, .failed = 1 },
		.total = 40,
		.running = four,
		.n_running = 4,
		.width = width,
		.height = 20,
	};
	unsigned lines;
	char *got = render(&s, &lines);
	assert_int_equal(lines, 1);
	if (strcmp(got, expected) != 0)
		fprintf(stderr, "width %u: got\n[%s]\nexpected\n[%s]\n", width, got, expected);
	assert_string_equal(got, expected);
	free(got);
}

static void test_bar_widths(void **state)
{
	(void)state;
	const char *full = "3 waiting for artifacts, 10 pending, 4 running, 1 failed";
	char want[512];
	snprintf(want, sizeof(want), "[=========>%s] 12/40 | %s | pkg test_a, pkg test_b, +2 more",
		 rep(' ', 20), full);
	assert_bar(140, want);
	/* Room is kept for running tests' names, at the cost of the long counts. */
	snprintf(want, sizeof(want),
		 "[=========>%s] 12/40 | 3 wait, 10 pend, 4 run, 1 fail | pkg test_a, +3 more",
		 rep(' ', 20));
	assert_bar(100, want);
	assert_bar(80, "[===>      ] 12/40 | 3 wait, 10 pend, 4 run, 1 fail | pkg test_a, +3 more");
	/* Narrower: the bar shrinks before the counts do. */
	assert_bar(60, "[===>      ] 12/40 | 3 wait, 10 pend, 4 run, 1 fail");
	assert_bar(40, "12/40 | 3 wait, 10 pend, 4 run, 1 fail");
	assert_bar(20, "[===>      ] 12/40");
	assert_bar(10, "12/40");
	assert_bar(5, "");
}

static void test_bar_edges(void **state)
{
	(void)state;
	/* Nothing known yet; no failures: no failed count. */
	struct ui_status s = { .width = 100 };
	char *got = render(&s, NULL);
	char want[256];
	snprintf(want, sizeof(want),
		 "[>%s] 0/0 | 0 waiting for artifacts, 0 pending, 0 running", rep(' ', 29));
	assert_string_equal(got, want);
	free(got);

	/* Complete: a full bar; the total never shows less than what is seen. */
	s.counts.completed = 7;
	s.total = 5;
	got = render(&s, NULL);
	snprintf(want, sizeof(want), "[%s] 7/7 | 0 waiting for artifacts, 0 pending, 0 running",
		 rep('=', 30));
	assert_string_equal(got, want);
	free(got);

	/* Without names, the full counts; colors around the fill and failures;
	 * a long first name keeps its end. */
	const struct ui_running_test longer[] = {
		{ "pkg::module::tests::a_rather_long_test_name", 0 }, { "pkg test_b", 0 },
	};
	s = (struct ui_status){
		.counts = { .running = 2, .completed = 2, .failed = 2 },
		.total = 6, .running = longer, .n_running = 2, .width = 105, .color = true,
	};
	got = render(&s, NULL);
	snprintf(want, sizeof(want),
		 "[\033[32m===>\033[0m      ] 2/6 | 0 waiting for artifacts, 0 pending, 2 running, "
		 "\033[31m2 failed\033[0m | ..._long_test_name, +1 more");
	assert_string_equal(got, want);
	free(got);
}

/* Columns of a rendered line, escape sequences left out. */
static size_t visible_cols(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\033') {
			while (i < len && s[i] != 'm')
				i++;
			continue;
		}
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	}
	return n;
}

static void test_bar_never_wraps(void **state)
{
	(void)state;
	struct ui_running_test names[12];
	char text[12][64];
	for (int i = 0; i < 12; i++) {
		snprintf(text[i], sizeof(text[i]), "pkg::module test_\xc3\xa9_%d_%s", i,
			 rep('x', (size_t)i * 3));
		names[i] = (struct ui_running_test){ text[i], 0 };
	}
	for (int fancy = 0; fancy < 2; fancy++) {
		for (unsigned w = 1; w <= 200; w++) {
			struct ui_status s = {
				.counts = { 123, 4567, 12, 89012, 345 },
				.total = 100000, .running = names, .n_running = 12,
				.now_ns = 4000000000000ull, .width = w, .height = 30,
				.fancy = fancy, .color = true,
			};
			unsigned lines;
			char *got = render(&s, &lines);
			unsigned seen = 1;
			const char *p = got;
			for (;;) {
				const char *nl = strchr(p, '\n');
				size_t len = nl ? (size_t)(nl - p) : strlen(p);
				assert_true(visible_cols(p, len) <= w - 1);
				if (!nl)
					break;
				seen++;
				p = nl + 1;
			}
			assert_int_equal(seen, lines);
			assert_int_equal(lines, fancy ? 9 : 1); /* 8 + the bar */
			free(got);
		}
	}
}

static void test_bar_fancy(void **state)
{
	(void)state;
	const uint64_t s1 = 1000000000ull;
	struct ui_running_test running[7] = {
		{ "pkg test_slow", 88 * s1 }, { "pkg test_b", 100 * s1 - s1 / 2 },
		{ "pkg test_old", 0 }, { "d", 0 }, { "e", 0 }, { "f", 0 }, { "g", 0 },
	};
	struct ui_status s = {
		.counts = { .running = 2, .completed = 1 },
		.total = 3, .running = running, .n_running = 2,
		.now_ns = 100 * s1, .width = 60, .height = 20, .fancy = true,
	};
	unsigned lines;
	char *got = render(&s, &lines);
	assert_int_equal(lines, 3);
	assert_string_equal(got, "     12s  pkg test_slow\n"
				 "      0s  pkg test_b\n"
				 "[======>             ] 1/3 | 0 wait, 0 pend, 2 run");
	free(got);

	/* More than fit (height 10: 5 lines): the rest are counted; minutes
	 * shown past a minute. */
	s.n_running = 7;
	s.height = 10;
	s.counts.running = 7;
	s.total = 8;
	got = render(&s, &lines);
	assert_int_equal(lines, 6);
	assert_string_equal(got, "     12s  pkg test_slow\n"
				 "      0s  pkg test_b\n"
				 "   1m40s  pkg test_old\n"
				 "   1m40s  d\n"
				 "  ... and 3 more running\n"
				 "[==>                 ] 1/8 | 0 wait, 0 pend, 7 run");
	free(got);

	/* A long name keeps its end. */
	struct ui_running_test one = { "abcdefghijklmnopqrstuvwxy", 100 * s1 };
	s.running = &one;
	s.n_running = 1;
	s.width = 30;
	got = render(&s, &lines);
	assert_int_equal(lines, 2);
	assert_string_equal(got, "      0s  ...jklmnopqrstuvwxy\n1/8 | 0 wait, 0 pend, 7 run");
	free(got);
}

/* ---- the live bar on a pseudo-terminal -------------------------------------- */

struct pty {
	int master, tty;
};

static struct pty open_pty(unsigned short cols, unsigned short rows)
{
	struct pty p;
	p.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p.master >= 0);
	assert_int_equal(grantpt(p.master), 0);
	assert_int_equal(unlockpt(p.master), 0);
	p.tty = open(ptsname(p.master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p.tty >= 0);
	struct termios t;
	assert_int_equal(tcgetattr(p.tty, &t), 0);
	cfmakeraw(&t); /* no "\n" -> "\r\n": bytes arrive as written */
	assert_int_equal(tcsetattr(p.tty, TCSANOW, &t), 0);
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	assert_int_equal(ioctl(p.tty, TIOCSWINSZ, &ws), 0);
	int fl = fcntl(p.master, F_GETFL);
	assert_int_equal(fcntl(p.master, F_SETFL, fl | O_NONBLOCK), 0);
	return p;
}

static void close_pty(struct pty *p)
{
	close(p->tty);
	close(p->master);
}

/* Reads from the terminal until `expected` has arrived in full (the pty
 * passes bytes on asynchronously), then compares. */
static void assert_screen_bytes(struct pty *p, const char *expected)
{
	size_t want = strlen(expected);
	struct buf got = BUF_INIT;
	while (got.len < want) {
		struct pollfd pfd = { .fd = p->master, .events = POLLIN };
		int n = poll(&pfd, 1, 10000);
		assert_true(n == 1); /* nothing arrived in 10 s: output missing */
		char chunk[4096];
		ssize_t rd = read(p->master, chunk, sizeof(chunk));
		if (rd < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		assert_true(rd > 0);
		buf_append(&got, chunk, (size_t)rd);
		if (got.len > want || memcmp(got.data, expected, got.len) != 0)
			break; /* already different: no need to wait for the rest */
	}
	if (strcmp(got.data, expected) != 0)
		fprintf(stderr, "got:\n%s\nexpected:\n%s\n", got.data, expected);
	assert_string_equal(got.data, expected);
	buf_release(&got);
}

static void stop_cb(struct reactor *r, void *arg)
{
	(void)arg;
	reactor_stop(r);
}

/* Runs the reactor through timers already due (the UI's first redraw has
 * no delay; a stop timer added after it runs after it). */
static void run_due_timers(struct reactor *r)
{
	struct err *e = NULL;
	reactor_timer_add(r, 0, stop_cb, NULL);
	assert_int_equal(reactor_run(r, &e), 0);
}

static void test_tty_bar(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct pty p = open_pty(100, 20);
	struct ui *ui = ui_new(r, UI_SIMPLE, p.tty, false);

	ui_message(ui, "building"); /* no bar yet: a plain line */
	assert_screen_bytes(&p, "building\n");

	ui_set_total(ui, 2);
	struct ui_counts c = { .running = 1 };
	ui_set_counts(ui, &c);
	ui_test_running(ui, "pkg test_a");
	run_due_timers(r); /* three changes, one redraw */
	char bar1[256];
	snprintf(bar1, sizeof(bar1),
		 "[>%s] 0/2 | 0 waiting for artifacts, 0 pending, 1 running | pkg test_a",
		 rep(' ', 19));
	assert_screen_bytes(&p, bar1);
	run_due_timers(r); /* nothing changed: nothing drawn */

	/* A finished test: erase, the line (terminal width), the bar again. */
	c = (struct ui_counts){ .running = 0, .completed = 1 };
	ui_set_counts(ui, &c);
	struct job_result ok = exited(0, 5000000);
	ui_test_done(ui, "pkg test_a", UI_OK, ok.duration_ns, &ok, NULL);
	char want[1024];
	snprintf(want, sizeof(want),
		 "\r\033[Jpkg test_a %s OK   0.005s\n"
		 "[===============>              ] 1/2 | 0 waiting for artifacts, 0 pending, 0 running",
		 rep('.', 77));
	assert_screen_bytes(&p, want);

	/* The summary erases the bar and leaves it off. */
	struct ui_summary s = { .passed = 1 };
	ui_summary(ui, &s);
	snprintf(want, sizeof(want),
		 "\r\033[J\n%s Test Summary %s\nSuccessful tests: 1\nFailed tests    : 0\n",
		 rep('=', 43), rep('=', 43));
	assert_screen_bytes(&p, want);
	ui_message(ui, "done");
	assert_screen_bytes(&p, "done\n");

	/* A new round (--watch) brings the bar back; ui_free erases it. */
	ui_set_total(ui, 5);
	ui_refresh(ui);
	assert_screen_bytes(&p, "[======>                       ] 1/5 | 0 waiting for artifacts, "
				"0 pending, 0 running");
	ui_free(ui);
	assert_screen_bytes(&p, "\r\033[J");
	close_pty(&p);
	reactor_free(r);
}

static void test_tty_fancy_and_quiet(void **state)
{
	(void)state;
	struct reactor *r = new_reactor();
	struct pty p = open_pty(60, 20);
	struct ui *ui = ui_new(r, UI_AUTO, p.tty, false); /* auto: fancy here */
	ui_set_total(ui, 3);
	struct ui_counts c = { .running = 2, .completed = 1 };
	ui_set_counts(ui, &c);
	ui_test_running(ui, "pkg test_x");
	ui_test_running(ui, "pkg test_y");
	ui_refresh(ui);
	const char *area = "      0s  pkg test_x\n      0s  pkg test_y\n"
			   "[======>             ] 1/3 | 0 wait, 0 pend, 2 run";
	assert_screen_bytes(&p, area);
	/* Three lines to erase: up two, then clear to the end of the screen. */
	ui_message(ui, "warning: slow");
	char want[512];
	snprintf(want, sizeof(want), "\r\033[2A\033[Jwarning: slow\n%s", area);
	assert_screen_bytes(&p, want);
	ui_test_not_running(ui, "pkg test_x");
	ui_test_not_running(ui, "pkg test_y");
	ui_free(ui);
	assert_screen_bytes(&p, "\r\033[2A\033[J");

	/* Quiet on a terminal: the bar, no per-test line. */
	ui = ui_new(r, UI_QUIET, p.tty, false);
	ui_set_total(ui, 1);
	ui_test_running(ui, "t");
	ui_refresh(ui);
	assert_screen_bytes(&p, "[>                   ] 0/1 | 0 wait, 0 pend, 0 run | t");
	struct job_result bad = exited(1, 0);
	ui_test_done(ui, "t", UI_FAIL, 0, &bad, NULL);
	ui_refresh(ui);
	assert_screen_bytes(&p, "\r\033[J[>                   ] 0/1 | 0 wait, 0 pend, 0 run");
	ui_free(ui);
	assert_screen_bytes(&p, "\r\033[J");
	close_pty(&p);
	reactor_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_style_choice),
		cmocka_unit_test(test_want_color),
		cmocka_unit_test(test_plain_lines),
		cmocka_unit_test(test_failure_output),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_quiet_plain),
		cmocka_unit_test(test_bar_widths),
		cmocka_unit_test(test_bar_edges),
		cmocka_unit_test(test_bar_never_wraps),
		cmocka_unit_test(test_bar_fancy),
		cmocka_unit_test(test_tty_bar),
		cmocka_unit_test(test_tty_fancy_and_quiet),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
