/* Unit tests for maelstrom-run --tty: runners/run/tty_escape (escape-char
 * parsing and the escape filter), runners/run/tty_term (raw mode on a pty
 * pair, window sizes), runners/run/one_spec (reading exactly one spec) and
 * runners/run/tty (the relay, driven by a reactor, with the test playing
 * the job on the slave side). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/layer_build.h"
#include "artifacts/store.h"
#include "container/local_worker.h"
#include "core/reactor.h"
#include "runners/client.h"
#include "runners/run/one_spec.h"
#include "runners/run/tty.h"
#include "runners/run/tty_escape.h"
#include "runners/run/tty_term.h"

/* ---- escape-char parsing ------------------------------------------------ */

static unsigned char parse_ok(const char *text)
{
	unsigned char c = 0xff;
	struct err *err = NULL;
	if (tty_escape_parse(text, &c, &err) < 0)
		fail_msg("`%s`: %s", text, err_msg(err));
	return c;
}

static void parse_bad(const char *text, const char *needle)
{
	unsigned char c;
	struct err *err = NULL;
	assert_int_equal(tty_escape_parse(text, &c, &err), -1);
	if (!strstr(err_msg(err), needle))
		fail_msg("`%s`: expected [%s] in [%s]", text, needle, err_msg(err));
	err_free(&err);
}

static void test_escape_parse(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("^]"), 0x1d);
	assert_int_equal(parse_ok("^C"), 0x03);
	assert_int_equal(parse_ok("^c"), 0x03);
	assert_int_equal(parse_ok("^@"), 0x00);
	assert_int_equal(parse_ok("^_"), 0x1f);
	assert_int_equal(parse_ok("^?"), 0x7f);
	assert_int_equal(parse_ok("~"), '~');
	assert_int_equal(parse_ok("^"), '^');
	assert_int_equal(parse_ok("\\"), '\\');
	assert_int_equal(parse_ok("\\x1d"), 0x1d);
	assert_int_equal(parse_ok("\\x7F"), 0x7f);
	assert_int_equal(parse_ok("\\n"), '\n');
	assert_int_equal(parse_ok("\\t"), '\t');
	assert_int_equal(parse_ok("\\\\"), '\\');
	assert_int_equal(parse_ok("\\0"), 0);

	parse_bad("", "empty");
	parse_bad("ab", "more than one character");
	parse_bad("^1", "not caret notation");
	parse_bad("\\x80", "must be ASCII");
	parse_bad("\\xzz", "not a byte literal");
	parse_bad("\\q", "not a byte literal");
	parse_bad("\xc3\xa9", "not an ASCII character");
	/* Every message says which forms work. */
	parse_bad("ab", "caret notation such as ^]");
}

static void test_escape_name(void **state)
{
	(void)state;
	char b[5];
	assert_string_equal(tty_escape_name(0x1d, b), "^]");
	assert_string_equal(tty_escape_name(0x03, b), "^C");
	assert_string_equal(tty_escape_name(0x7f, b), "^?");
	assert_string_equal(tty_escape_name('~', b), "~");
}

/* ---- the escape filter --------------------------------------------------- */

struct filtered {
	char out[64];
	size_t n;
	size_t used;
	enum tty_escape_action act;
};

static struct filtered filter(struct tty_escape *e, const char *in)
{
	struct filtered f = {0};
	size_t len = strlen(in);
	assert_true(len + 1 <= sizeof(f.out));
	f.n = tty_escape_filter(e, (const unsigned char *)in, len, (unsigned char *)f.out,
				&f.used, &f.act);
	f.out[f.n] = '\0';
	return f;
}

static void test_escape_filter_rules(void **state)
{
	(void)state;
	struct tty_escape e;
	tty_escape_init(&e, 0x1d);

	struct filtered f = filter(&e, "ls -l\r");
	assert_string_equal(f.out, "ls -l\r");
	assert_int_equal(f.used, 6);
	assert_int_equal(f.act, TTY_ESCAPE_NONE);

	/* ^C without the escape goes to the job. */
	f = filter(&e, "a\x03");
	assert_string_equal(f.out, "a\x03");
	assert_int_equal(f.act, TTY_ESCAPE_NONE);

	/* Twice: sent once. */
	f = filter(&e, "\x1d\x1dz");
	assert_string_equal(f.out, "\x1dz");
	assert_false(tty_escape_pending(&e));

	/* Followed by anything else: both are sent. */
	f = filter(&e, "\x1dq");
	assert_string_equal(f.out, "\x1dq");

	/* Detach: stops right after the ^C; what came before is kept. */
	f = filter(&e, "ab\x1d\x03" "cd");
	assert_string_equal(f.out, "ab");
	assert_int_equal(f.used, 4);
	assert_int_equal(f.act, TTY_ESCAPE_DETACH);
	f = filter(&e, "cd");
	assert_string_equal(f.out, "cd");

	/* Suspend. */
	f = filter(&e, "\x1d\x1a" "x");
	assert_string_equal(f.out, "");
	assert_int_equal(f.used, 2);
	assert_int_equal(f.act, TTY_ESCAPE_SUSPEND);
}

static void test_escape_filter_across_reads(void **state)
{
	(void)state;
	struct tty_escape e;
	tty_escape_init(&e, 0x1d);
	struct filtered f = filter(&e, "x\x1d");
	assert_string_equal(f.out, "x");
	assert_true(tty_escape_pending(&e));
	/* The pending escape plus one more byte: len + 1 bytes out. */
	f = filter(&e, "y");
	assert_string_equal(f.out, "\x1dy");
	assert_false(tty_escape_pending(&e));

	f = filter(&e, "\x1d");
	assert_true(tty_escape_pending(&e));
	f = filter(&e, "\x03");
	assert_int_equal(f.act, TTY_ESCAPE_DETACH);

	/* Nothing followed in time: the escape goes alone. */
	f = filter(&e, "\x1d");
	unsigned char c = 0;
	assert_int_equal(tty_escape_flush(&e, &c), 1);
	assert_int_equal(c, 0x1d);
	assert_int_equal(tty_escape_flush(&e, &c), 0);
	assert_false(tty_escape_pending(&e));
}

static void test_escape_is_control_key(void **state)
{
	(void)state;
	/* With ^C as the escape, ^C ^C sends ^C: doubling wins. */
	struct tty_escape e;
	tty_escape_init(&e, 0x03);
	struct filtered f = filter(&e, "\x03\x03");
	assert_string_equal(f.out, "\x03");
	assert_int_equal(f.act, TTY_ESCAPE_NONE);
	f = filter(&e, "\x03\x1a");
	assert_int_equal(f.act, TTY_ESCAPE_SUSPEND);
}

/* ---- terminal mode and window size ------------------------------------------- */

static void test_raw_mode_save_restore(void **state)
{
	(void)state;
	int m, s;
	assert_int_equal(openpty(&m, &s, NULL, NULL, NULL), 0);
	struct termios before, during, after;
	assert_int_equal(tcgetattr(s, &before), 0);
	assert_true(before.c_lflag & ICANON);

	struct tty_term t;
	tty_term_init(&t, s);
	assert_non_null(tty_term_saved(&t));
	struct err *err = NULL;
	assert_int_equal(tty_term_nonblock(&t, s, &err), 0);
	assert_int_equal(tty_term_raw(&t, &err), 0);
	assert_int_equal(tcgetattr(s, &during), 0);
	assert_false(during.c_lflag & (ICANON | ECHO | ISIG));
	assert_false(during.c_oflag & OPOST);
	assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);

	tty_term_restore(&t);
	tty_term_restore(&t);   /* idempotent */
	assert_int_equal(tcgetattr(s, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	assert_memory_equal(after.c_cc, before.c_cc, sizeof(before.c_cc));
	assert_false(fcntl(s, F_GETFL) & O_NONBLOCK);

	/* Resuming after a suspend: raw and non-blocking again. */
	assert_int_equal(tty_term_raw(&t, &err), 0);
	assert_int_equal(tcgetattr(s, &during), 0);
	assert_false(during.c_lflag & ICANON);
	assert_true(fcntl(s, F_GETFL) & O_NONBLOCK);
	tty_term_restore(&t);
	assert_int_equal(tcgetattr(s, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	close(m);
	close(s);
}

static void test_no_terminal(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct tty_term t;
	tty_term_init(&t, p[0]);
	assert_int_equal(t.fd, -1);
	assert_null(tty_term_saved(&t));
	struct err *err = NULL;
	assert_int_equal(tty_term_raw(&t, &err), 0);
	tty_term_restore(&t);

	struct winsize ws;
	tty_window_size(p[0], &ws);
	assert_int_equal(ws.ws_col, TTY_DEFAULT_COLS);
	assert_int_equal(ws.ws_row, TTY_DEFAULT_ROWS);
	tty_window_size(-1, &ws);
	assert_int_equal(ws.ws_col, 80);
	assert_int_equal(ws.ws_row, 24);
	close(p[0]);
	close(p[1]);
}

static void test_pty_open_size_and_mode(void **state)
{
	(void)state;
	struct winsize ws = { .ws_row = 33, .ws_col = 111 };
	struct termios mode;
	int m0, s0;
	assert_int_equal(openpty(&m0, &s0, NULL, NULL, NULL), 0);
	assert_int_equal(tcgetattr(s0, &mode), 0);
	mode.c_cc[VERASE] = 0x08;   /* a user who erases with ^H */

	int m = -1, s = -1;
	struct err *err = NULL;
	if (tty_pty_open(&m, &s, &ws, &mode, &err) < 0)
		fail_msg("%s", err_msg(err));
	struct winsize got;
	assert_int_equal(ioctl(s, TIOCGWINSZ, &got), 0);
	assert_int_equal(got.ws_row, 33);
	assert_int_equal(got.ws_col, 111);
	tty_window_size(s, &got);
	assert_int_equal(got.ws_col, 111);
	struct termios sm;
	assert_int_equal(tcgetattr(s, &sm), 0);
	assert_int_equal(sm.c_cc[VERASE], 0x08);
	assert_true(fcntl(m, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(m, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(s, F_GETFD) & FD_CLOEXEC);
	close(m);
	close(s);
	close(m0);
	close(s0);
}

/* ---- one spec ------------------------------------------------------------------- */

static int pipe_with(const char *text)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	return p[0];
}

static void test_one_spec_leaves_the_rest(void **state)
{
	(void)state;
	int fd = pipe_with("{\"layers\": [], \"program\": \"/bin/sh\", \"arguments\": [\"-i\"]}  \r\n"
			   "echo hi\n");
	struct job_spec spec;
	struct err *err = NULL;
	if (one_spec_read(fd, "standard input", &spec, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_string_equal(spec.program, "/bin/sh");
	assert_int_equal(spec.n_arguments, 1);
	job_spec_release(&spec);
	/* The line end went with the spec; the next line is the job's. */
	char rest[32] = "";
	assert_int_equal(read(fd, rest, sizeof(rest) - 1), 8);
	assert_string_equal(rest, "echo hi\n");
	close(fd);
}

static void test_one_spec_errors(void **state)
{
	(void)state;
	struct {
		const char *input, *needle;
	} cases[] = {
		{ "", "x: no job spec in the input" },
		{ "  \n", "no job spec" },
		{ "{\"program\": ", "x: input ended inside job 1" },
		{ "{\"layers\": [], \"program\": 3}", "x: job spec at line 1 column 1: field `program`" },
		{ "{\"program\" 3}", "x: job 1 at line 1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = pipe_with(cases[i].input);
		struct job_spec spec;
		struct err *err = NULL;
		assert_int_equal(one_spec_read(fd, "x", &spec, &err), -1);
		if (!strstr(err_msg(err), cases[i].needle))
			fail_msg("input `%s`: expected [%s] in [%s]", cases[i].input,
				 cases[i].needle, err_msg(err));
		assert_null(spec.program);
		err_free(&err);
		close(fd);
	}
}

static void test_one_spec_only_the_first(void **state)
{
	(void)state;
	/* Whatever follows the first spec is not read, not even when bad. */
	int fd = pipe_with("{\"layers\": [], \"program\": \"/a\"}{\"program\": 3} garbage");
	struct job_spec spec;
	struct err *err = NULL;
	assert_int_equal(one_spec_read(fd, "x", &spec, &err), 0);
	assert_string_equal(spec.program, "/a");
	job_spec_release(&spec);
	close(fd);
}

/* ---- the session ---------------------------------------------------------------- */

struct fixture {
	struct reactor *r;
	struct tty_session *s;
	int in_w;            /* what the "user" types */
	int in_r;
	int out_r;           /* what the "user" sees */
	int out_w;
	int job;             /* the slave, as the job would use it */
	char seen[4096];     /* from out_r */
	size_t n_seen;
	char got[4096];      /* read by the job */
	size_t n_got;
	bool job_eof;
	unsigned detaches, dones;
	const char *want;    /* stop once `seen` holds this */
};

static void on_event(void *arg, enum tty_session_event ev)
{
	struct fixture *f = arg;
	switch (ev) {
	case TTY_SESSION_DETACH:
		f->detaches++;
		break;
	case TTY_SESSION_OUTPUT_DONE:
		f->dones++;
		break;
	}
	reactor_stop(f->r);
}

static void on_seen(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct fixture *f = arg;
	(void)events;
	ssize_t n = read(fd, f->seen + f->n_seen, sizeof(f->seen) - 1 - f->n_seen);
	if (n > 0)
		f->n_seen += (size_t)n;
	f->seen[f->n_seen] = '\0';
	if (n <= 0 || (f->want && strstr(f->seen, f->want)))
		reactor_stop(r);
}

static void on_job_input(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct fixture *f = arg;
	(void)events;
	ssize_t n = read(fd, f->got + f->n_got, sizeof(f->got) - 1 - f->n_got);
	if (n > 0)
		f->n_got += (size_t)n;
	else if (n == 0)
		f->job_eof = true;
	f->got[f->n_got] = '\0';
	reactor_stop(r);
}

static void run_reactor(struct fixture *f)
{
	struct err *err = NULL;
	if (reactor_run(f->r, &err) < 0)
		fail_msg("reactor_run: %s", err_msg(err));
}

static void type(struct fixture *f, const char *keys)
{
	assert_int_equal(write(f->in_w, keys, strlen(keys)), (ssize_t)strlen(keys));
}

/* Runs the reactor until the job read something (or its end of file). */
static void job_reads(struct fixture *f)
{
	f->n_got = 0;
	f->got[0] = '\0';
	struct err *err = NULL;
	assert_int_equal(reactor_add_fd(f->r, f->job, EPOLLIN, on_job_input, f, &err), 0);
	run_reactor(f);
	reactor_del_fd(f->r, f->job);
}

/* Runs the reactor until the user saw `want`. */
static void user_sees(struct fixture *f, const char *want)
{
	f->want = want;
	while (!strstr(f->seen, want))
		run_reactor(f);
	f->want = NULL;
}

static int session_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int in[2], out[2];
	if (!f || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	f->in_r = in[0];
	f->in_w = in[1];
	f->out_r = out[0];
	f->out_w = out[1];
	struct err *err = NULL;
	if (reactor_new(&f->r, 0, &err) < 0)
		return -1;
	struct tty_session_config cfg = {
		.in_fd = f->in_r, .out_fd = f->out_w, .term_fd = -1, .escape = 0x1d,
	};
	if (tty_session_new(&f->s, f->r, &cfg, on_event, f, &err) < 0 ||
	    tty_session_start(f->s, &err) < 0) {
		print_error("session: %s\n", err_msg(err));
		return -1;
	}
	f->job = tty_session_slave(f->s);
	tty_session_job_started(f->s);
	if (reactor_add_fd(f->r, f->out_r, EPOLLIN, on_seen, f, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int session_teardown(void **state)
{
	struct fixture *f = *state;
	reactor_del_fd(f->r, f->out_r);
	tty_session_free(f->s);
	reactor_free(f->r);
	close(f->in_r);
	if (f->in_w >= 0)
		close(f->in_w);
	close(f->out_r);
	close(f->out_w);
	free(f);
	return 0;
}

static void test_session_relays_both_ways(void **state)
{
	struct fixture *f = *state;
	struct winsize ws;
	assert_int_equal(ioctl(f->job, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_col, 80);   /* no local terminal */
	assert_int_equal(ws.ws_row, 24);

	type(f, "hi\n");
	job_reads(f);
	assert_string_equal(f->got, "hi\n");
	/* The job's terminal echoes, as a terminal does. */
	user_sees(f, "hi\r\n");

	assert_int_equal(write(f->job, "from-job\n", 9), 9);
	user_sees(f, "from-job\r\n");

	/* The escape character typed twice reaches the job once. */
	type(f, "\x1d\x1dx\n");
	job_reads(f);
	assert_string_equal(f->got, "\x1dx\n");
	assert_int_equal(f->detaches, 0);
}

static void test_session_detach_and_drain(void **state)
{
	struct fixture *f = *state;
	type(f, "\x1d\x03");
	run_reactor(f);
	assert_int_equal(f->detaches, 1);
	/* Typed after the detach: never reaches the job. */
	type(f, "late\n");

	/* The job writes its last words and is over. */
	assert_int_equal(write(f->job, "bye\n", 4), 4);
	tty_session_job_done(f->s);
	while (!f->dones)
		run_reactor(f);
	assert_int_equal(f->dones, 1);
	assert_non_null(strstr(f->seen, "bye\r\n"));
	assert_null(strstr(f->seen, "late"));
}

static void test_session_input_end_is_eof(void **state)
{
	struct fixture *f = *state;
	/* No newline at the end: two ^D, the first ends the line. */
	type(f, "abc");
	close(f->in_w);
	f->in_w = -1;
	job_reads(f);
	assert_string_equal(f->got, "abc");
	job_reads(f);
	assert_true(f->job_eof);
}

static void test_session_file_input(void **state)
{
	(void)state;
	/* A regular file cannot be polled: it is pumped as the job takes it. */
	char path[] = "/tmp/test_tty.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "line one\nline two\n", 18), 18);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);

	struct fixture f = { .in_w = -1 };
	int out[2];
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	f.out_r = out[0];
	f.out_w = out[1];
	struct err *err = NULL;
	assert_int_equal(reactor_new(&f.r, 0, &err), 0);
	struct tty_session_config cfg = { .in_fd = fd, .out_fd = f.out_w, .term_fd = -1,
					  .escape = 0x1d };
	assert_int_equal(tty_session_new(&f.s, f.r, &cfg, on_event, &f, &err), 0);
	assert_int_equal(tty_session_start(f.s, &err), 0);
	f.job = tty_session_slave(f.s);
	tty_session_job_started(f.s);
	char all[64] = "";
	while (!f.job_eof) {
		job_reads(&f);
		strncat(all, f.got, sizeof(all) - strlen(all) - 1);
	}
	assert_string_equal(all, "line one\nline two\n");
	tty_session_free(f.s);
	reactor_free(f.r);
	close(fd);
	close(f.out_r);
	close(f.out_w);
}

/* ---- the client without a terminal --------------------------------------------- */

static void on_client_done(void *arg, uint64_t id, struct job_result *res)
{
	struct job_result **out = arg;
	(void)id;
	*out = res;
}

static void test_client_tty_job_needs_a_terminal(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_tty_client.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct reactor *r = NULL;
	struct store *store = NULL;
	struct layer_builder *builder = NULL;
	struct local_worker *worker = NULL;
	struct client *c = NULL;
	struct err *err = NULL;
	struct executor_config ec = { .slots = 1, .inline_limit = 1024 };
	if (reactor_new(&r, 0, &err) < 0 || store_open(&store, dir, 1 << 20, &err) < 0 ||
	    layer_builder_new(&builder, store, dir, &err) < 0 ||
	    local_worker_new(&worker, r, store, &ec, &err) < 0 ||
	    client_new(&c, r, store, builder, worker, NULL, dir, &err) < 0)
		fail_msg("%s", err_msg(err));

	struct job_spec spec = { .program = strdup("/bin/sh"), .allocate_tty = true };
	struct job_result *res = NULL;
	client_submit(c, &spec, on_client_done, &res);
	while (!res)
		assert_int_equal(reactor_run(r, &err), 0);
	assert_int_equal(res->outcome, JOB_EXECUTION_ERROR);
	assert_non_null(strstr(res->message, "field `allocate_tty`"));
	assert_non_null(strstr(res->message, "maelstrom-run --tty"));
	job_result_free(res);

	client_free(c);
	local_worker_free(worker);
	layer_builder_free(builder);
	store_free(store);
	reactor_free(r);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_parse),
		cmocka_unit_test(test_escape_name),
		cmocka_unit_test(test_escape_filter_rules),
		cmocka_unit_test(test_escape_filter_across_reads),
		cmocka_unit_test(test_escape_is_control_key),
		cmocka_unit_test(test_raw_mode_save_restore),
		cmocka_unit_test(test_no_terminal),
		cmocka_unit_test(test_pty_open_size_and_mode),
		cmocka_unit_test(test_one_spec_leaves_the_rest),
		cmocka_unit_test(test_one_spec_errors),
		cmocka_unit_test(test_one_spec_only_the_first),
		cmocka_unit_test_setup_teardown(test_session_relays_both_ways, session_setup,
						session_teardown),
		cmocka_unit_test_setup_teardown(test_session_detach_and_drain, session_setup,
						session_teardown),
		cmocka_unit_test_setup_teardown(test_session_input_end_is_eof, session_setup,
						session_teardown),
		cmocka_unit_test(test_session_file_input),
		cmocka_unit_test(test_client_tty_job_needs_a_terminal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
