/*
 * test_executor: runs real jobs in real containers through the executor.
 *
 * The group setup builds a layer directory from the host's /bin/sh and a few
 * coreutils (sleep, head, yes, cat) plus the shared libraries `ldd` lists,
 * and stub directories (/proc, /tmp, /dev, /sys). Every test makes its own
 * reactor and executor, runs jobs `sh -c SCRIPT` until their callbacks
 * arrived, and checks outcomes, codes, output and slot accounting.
 * Must pass as root and as an unprivileged user.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/executor.h"
#include "core/reactor.h"

#define MAX_JOBS 16

static char *layer_dir;     /* sh + tools + libraries + stubs */
static char *layer2_dir;    /* one file: /etc/which containing "two" */
static char *tmp_root;      /* holds both layers and the scratch dir */
static char *scratch_dir;

/* ---- building the layers ---------------------------------------------- */

static void mkdirs(const char *root, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void copy_file(const char *from, const char *root, const char *rel)
{
	char to[4096];
	snprintf(to, sizeof(to), "%s%s", root, rel);
	char *slash = strrchr(to, '/');
	*slash = '\0';
	mkdirs(root, to + strlen(root) + 1);
	*slash = '/';
	int in = open(from, O_RDONLY | O_CLOEXEC);
	assert_true(in >= 0);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0)
		fail_msg("create %s: %s", to, strerror(errno));
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* Copies every library `ldd prog` names to the same path under root. */
static void copy_libraries(const char *prog, const char *root)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "ldd %s", prog);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');
		if (!p)
			continue;
		p[strcspn(p, " \t\n")] = '\0';
		char dest[4096];
		snprintf(dest, sizeof(dest), "%s%s", root, p);
		if (access(dest, F_OK) == 0)
			continue;
		copy_file(p, root, p);
	}
	assert_int_equal(pclose(f), 0);
}

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&tmp_root, "%s/test-executor-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(tmp_root))
		return -1;
	/* Reachable by the container's user whatever the umask. */
	chmod(tmp_root, 0755);
	if (asprintf(&layer_dir, "%s/layer", tmp_root) < 0 ||
	    asprintf(&layer2_dir, "%s/layer2", tmp_root) < 0 ||
	    asprintf(&scratch_dir, "%s/scratch", tmp_root) < 0)
		return -1;
	mkdirs(tmp_root, "layer");
	mkdirs(tmp_root, "scratch");
	const char *tools[][2] = {
		{ "/bin/sh", "/bin/sh" }, { "/bin/sleep", "/bin/sleep" },
		{ "/usr/bin/head", "/bin/head" }, { "/usr/bin/yes", "/bin/yes" },
		{ "/bin/cat", "/bin/cat" },
	};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		copy_file(tools[i][0], layer_dir, tools[i][1]);
		copy_libraries(tools[i][0], layer_dir);
	}
	const char *stubs[] = { "proc", "tmp", "dev", "sys", "etc" };
	for (size_t i = 0; i < sizeof(stubs) / sizeof(stubs[0]); i++)
		mkdirs(layer_dir, stubs[i]);
	/* The mount point of the /dev/null device mount (sh opens /dev/null as
	 * the stdin of background commands). */
	char path[4096];
	snprintf(path, sizeof(path), "%s/dev/null", layer_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	mkdirs(tmp_root, "layer2/etc");
	snprintf(path, sizeof(path), "%s/etc/which", layer2_dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("two\n", f);
	fclose(f);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_teardown(void **state)
{
	(void)state;
	int ret = nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp_root);
	free(layer_dir);
	free(layer2_dir);
	free(scratch_dir);
	return ret;
}

/* ---- running jobs ------------------------------------------------------ */

struct slot {
	uint64_t id;
	struct job_result *res;
	int calls;
};

struct ctx {
	struct reactor *r;
	struct executor *ex;
	unsigned slots;
	struct slot jobs[MAX_JOBS];
	size_t n_jobs;
	int callbacks;
	unsigned max_running;   /* executor_running() seen from callbacks */
	/* Optional hook run from every callback. */
	void (*hook)(struct ctx *c, struct slot *s);
	bool freed;
};

static void ctx_open(struct ctx *c, unsigned slots, size_t limit)
{
	memset(c, 0, sizeof(*c));
	struct err *e = NULL;
	if (reactor_new(&c->r, 0, &e) < 0)
		fail_msg("%s", err_msg(e));
	struct executor_config cfg = {
		.slots = slots,
		.inline_limit = limit,
		.scratch_dir = scratch_dir,
	};
	if (executor_new(&c->ex, c->r, &cfg, &e) < 0)
		fail_msg("%s", err_msg(e));
	c->slots = slots;
	assert_int_equal(executor_slots(c->ex), slots);
}

static void ctx_close(struct ctx *c)
{
	if (!c->freed)
		executor_free(c->ex);
	reactor_free(c->r);
	for (size_t i = 0; i < c->n_jobs; i++)
		job_result_free(c->jobs[i].res);
	/* No container outlives the test: no child, running or zombie. */
	siginfo_t info;
	assert_int_equal(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void on_done(void *arg, uint64_t id, struct job_result *res)
{
	struct ctx *c = arg;
	assert_false(c->freed);
	struct slot *s = NULL;
	for (size_t i = 0; i < c->n_jobs; i++)
		if (c->jobs[i].id == id)
			s = &c->jobs[i];
	assert_non_null(s);
	s->calls++;
	assert_int_equal(s->calls, 1);
	s->res = res;
	c->callbacks++;
	unsigned running = executor_running(c->ex);
	assert_true(running <= c->slots);
	if (running > c->max_running)
		c->max_running = running;
	if (c->hook)
		c->hook(c, s);
}

static const struct mount_spec dev_null = { .kind = MOUNT_DEVICES, .devices = DEVICE_NULL };

static struct container_desc base_desc(void)
{
	static const char *dirs[1];
	dirs[0] = layer_dir;
	return (struct container_desc){
		.layer_dirs = dirs,
		.n_layer_dirs = 1,
		.mounts = &dev_null,
		.n_mounts = 1,
		.network = NETWORK_DISABLED,
	};
}

/* Submits `sh -c script` and returns its slot. */
static struct slot *submit_desc(struct ctx *c, const struct container_desc *d,
				const char *script, uint32_t timeout_s)
{
	assert_true(c->n_jobs < MAX_JOBS);
	const char *argv[] = { "sh", "-c", script, NULL };
	const char *envp[] = { "PATH=/bin", "FOO=bar", NULL };
	struct exec_job job = {
		.container = *d,
		.program = "sh",
		.argv = argv,
		.envp = envp,
		.timeout_s = timeout_s,
	};
	struct slot *s = &c->jobs[c->n_jobs++];
	s->id = executor_submit(c->ex, &job, on_done, c);
	assert_true(s->id != 0);
	return s;
}

static struct slot *submit(struct ctx *c, const char *script, uint32_t timeout_s)
{
	struct container_desc d = base_desc();
	return submit_desc(c, &d, script, timeout_s);
}

static void run(struct ctx *c)
{
	struct err *e = NULL;
	if (reactor_run(c->r, &e) < 0)
		fail_msg("%s", err_msg(e));
}

static void expect(const struct slot *s, enum job_outcome outcome, int code)
{
	assert_non_null(s->res);
	const struct job_result *r = s->res;
	if (r->outcome != outcome || r->code != code)
		fail_msg("job %" PRIu64 ": %s %d (%s), expected %s %d; stdout \"%s\", stderr \"%s\"",
			 s->id, job_outcome_name(r->outcome), r->code,
			 r->message ? r->message : "", job_outcome_name(outcome), code,
			 r->out.data ? r->out.data : "", r->err.data ? r->err.data : "");
}

static void expect_text(const struct captured *cap, const char *text)
{
	if (!*text) {
		assert_null(cap->data);
		assert_int_equal(cap->len, 0);
	} else {
		assert_non_null(cap->data);
		assert_string_equal(cap->data, text);
		assert_int_equal(cap->len, strlen(text));
	}
	assert_int_equal(cap->truncated, 0);
}

/* ---- tests -------------------------------------------------------------- */

static void test_exit_codes_and_streams(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 2, 4096);
	struct slot *a = submit(&c, "exit 3", 0);
	struct slot *b = submit(&c, "echo out; echo err >&2; echo $FOO; exit 0", 0);
	struct slot *d = submit(&c, ":", 0);
	assert_int_equal(executor_queued(c.ex), 3);
	run(&c);
	expect(a, JOB_EXITED, 3);
	expect(b, JOB_EXITED, 0);
	expect_text(&b->res->out, "out\nbar\n");
	expect_text(&b->res->err, "err\n");
	expect(d, JOB_EXITED, 0);
	expect_text(&d->res->out, "");
	assert_null(a->res->message);
	assert_true(b->res->duration_ns > 0);
	ctx_close(&c);
}

static void test_working_directory(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	const char *argv[] = { "sh", "-c", "echo \"$PWD\"", NULL };
	const char *envp[] = { "PATH=/bin", NULL };
	struct exec_job job = {
		.container = base_desc(),
		.program = "sh", .argv = argv, .envp = envp,
		.working_directory = "/tmp",
	};
	struct slot *s = &c.jobs[c.n_jobs++];
	s->id = executor_submit(c.ex, &job, on_done, &c);
	run(&c);
	expect(s, JOB_EXITED, 0);
	expect_text(&s->res->out, "/tmp\n");
	ctx_close(&c);
}

static void test_signal(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	/* PID 1 ignores signals it has no handler for, even SIGKILL from
	 * inside its namespace; a fault (stack overflow) still kills it. */
	struct slot *s = submit(&c, "ulimit -c 0; ulimit -s 256; f() { f; }; f", 0);
	run(&c);
	expect(s, JOB_SIGNALED, SIGSEGV);
	ctx_close(&c);
}

static void test_timeout_keeps_partial_output(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	struct slot *s = submit(&c, "echo partial; echo half >&2; sleep 100", 1);
	run(&c);
	expect(s, JOB_TIMED_OUT, 0);
	assert_string_equal(s->res->message, "timed out after 1 s");
	expect_text(&s->res->out, "partial\n");
	expect_text(&s->res->err, "half\n");
	assert_true(s->res->duration_ns >= 1000000000ull);
	ctx_close(&c);
}

static void expect_pattern(const struct captured *cap, size_t len, uint64_t truncated,
			   const char *unit)
{
	size_t ulen = strlen(unit);
	assert_int_equal(cap->len, len);
	assert_int_equal(cap->truncated, truncated);
	for (size_t i = 0; i < len; i++)
		if (cap->data[i] != unit[i % ulen])
			fail_msg("byte %zu is %#x", i, (unsigned char)cap->data[i]);
}

static void test_truncation_is_exact(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 2, 1000);
	struct slot *a = submit(&c, "yes abc | head -c 100000", 0);
	struct slot *b = submit(&c, "yes | head -c 5000 >&2; yes | head -c 1000", 0);
	run(&c);
	expect(a, JOB_EXITED, 0);
	expect_pattern(&a->res->out, 1000, 99000, "abc\n");
	expect_text(&a->res->err, "");
	expect(b, JOB_EXITED, 0);
	expect_pattern(&b->res->err, 1000, 4000, "y\n");
	expect_pattern(&b->res->out, 1000, 0, "y\n");
	ctx_close(&c);
}

static void test_large_output_does_not_block(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 1 << 20);
	/* Far more than a pipe holds, on both streams, interleaved. */
	struct slot *s = submit(&c, "yes | head -c 30000000 >&2 & yes | head -c 50000000; wait", 0);
	run(&c);
	expect(s, JOB_EXITED, 0);
	expect_pattern(&s->res->out, 1 << 20, 50000000 - (1 << 20), "y\n");
	expect_pattern(&s->res->err, 1 << 20, 30000000 - (1 << 20), "y\n");
	ctx_close(&c);
}

static void test_missing_program(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	const char *envp[] = { "PATH=/bin", NULL };
	struct exec_job job = { .container = base_desc(), .program = "/bin/nope", .envp = envp };
	struct slot *s = &c.jobs[c.n_jobs++];
	s->id = executor_submit(c.ex, &job, on_done, &c);
	struct slot *after = submit(&c, "echo still fine", 0);
	run(&c);
	expect(s, JOB_EXECUTION_ERROR, 0);
	assert_non_null(s->res->message);
	assert_non_null(strstr(s->res->message, "nope"));
	expect(after, JOB_EXITED, 0);
	expect_text(&after->res->out, "still fine\n");
	ctx_close(&c);
}

static void test_missing_layer_is_execution_error(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	struct container_desc d = { .n_layer_dirs = 0, .network = NETWORK_DISABLED };
	struct slot *s = submit_desc(&c, &d, "exit 0", 0);
	run(&c);
	assert_non_null(s->res);
	/* An empty container has no sh: whichever step notices, it is the
	 * spec's fault. */
	expect(s, JOB_EXECUTION_ERROR, 0);
	assert_non_null(s->res->message);
	ctx_close(&c);
}

/* Probe run right after the executor started the first jobs. */
static void probe_slots(struct reactor *r, void *arg)
{
	(void)r;
	struct ctx *c = arg;
	assert_int_equal(executor_running(c->ex), 2);
	assert_int_equal(executor_queued(c->ex), 4);
}

static void test_slot_limit(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 2, 4096);
	for (int i = 0; i < 6; i++)
		submit(&c, "sleep 0.3; echo done", 0);
	/* Added after the executor's kick: runs right after it. */
	reactor_timer_add(c.r, 0, probe_slots, &c);
	run(&c);
	assert_int_equal(c.callbacks, 6);
	assert_true(c.max_running <= 2);
	for (int i = 0; i < 6; i++) {
		expect(&c.jobs[i], JOB_EXITED, 0);
		expect_text(&c.jobs[i].res->out, "done\n");
		expect_text(&c.jobs[i].res->err, "");
	}
	assert_int_equal(executor_running(c.ex), 0);
	assert_int_equal(executor_queued(c.ex), 0);
	ctx_close(&c);
}

static void probe_cancel(struct reactor *r, void *arg)
{
	(void)r;
	struct ctx *c = arg;
	assert_int_equal(executor_running(c->ex), 1);
	assert_int_equal(executor_queued(c->ex), 1);
	executor_cancel(c->ex, c->jobs[1].id);   /* queued */
	executor_cancel(c->ex, c->jobs[0].id);   /* running */
	executor_cancel(c->ex, 12345);           /* unknown: no-op */
	assert_int_equal(c->callbacks, 0);       /* never synchronous */
}

static void test_cancel_running_and_queued(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	submit(&c, "echo started; sleep 100", 0);
	submit(&c, "echo never", 0);
	reactor_timer_add(c.r, 0, probe_cancel, &c);
	run(&c);
	expect(&c.jobs[0], JOB_CANCELED, 0);
	expect(&c.jobs[1], JOB_CANCELED, 0);
	expect_text(&c.jobs[1].res->out, "");
	assert_int_equal(c.jobs[1].res->duration_ns, 0);
	ctx_close(&c);
}

/* From each callback: submit a follow-up, and cancel a job. */
static void chain_hook(struct ctx *c, struct slot *s)
{
	if (s == &c->jobs[0]) {
		submit(c, "echo second", 0);
		struct slot *third = submit(c, "echo third", 0);
		executor_cancel(c->ex, third->id);
		executor_cancel(c->ex, s->id);   /* already delivered: no-op */
	}
}

static void test_reentrant_callbacks(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	c.hook = chain_hook;
	submit(&c, "echo first", 0);
	run(&c);
	assert_int_equal(c.callbacks, 3);
	expect_text(&c.jobs[0].res->out, "first\n");
	expect(&c.jobs[1], JOB_EXITED, 0);
	expect_text(&c.jobs[1].res->out, "second\n");
	expect(&c.jobs[2], JOB_CANCELED, 0);
	ctx_close(&c);
}

/* A `sleep` duration no other process on the machine uses. */
static char sleep_arg[32];

/* Processes (in any PID namespace) running `sleep <sleep_arg>`. */
static int count_sleepers(void)
{
	char want[64];
	int wlen = snprintf(want, sizeof(want), "sleep%c%s", '\0', sleep_arg) + 1;
	DIR *d = opendir("/proc");
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], cmd[64];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, cmd, sizeof(cmd));
		close(fd);
		if (len == wlen && memcmp(cmd, want, (size_t)wlen) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Waits (polling) until job 0 and its background child both run, then
 * frees the executor and checks that both are gone at once. */
static void probe_free(struct reactor *r, void *arg)
{
	struct ctx *c = arg;
	if (count_sleepers() < 2) {
		reactor_timer_add(r, 10 * 1000 * 1000, probe_free, c);
		return;
	}
	assert_int_equal(executor_running(c->ex), 2);
	assert_int_equal(executor_queued(c->ex), 1);
	executor_free(c->ex);
	c->freed = true;
	assert_int_equal(count_sleepers(), 0);
}

static void test_free_kills_everything(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 2, 4096);
	snprintf(sleep_arg, sizeof(sleep_arg), "1000.%d", (int)getpid());
	char script[128];
	snprintf(script, sizeof(script), "sleep %s & sleep %s", sleep_arg, sleep_arg);
	submit(&c, script, 0);
	submit(&c, "sleep 100", 0);
	submit(&c, "sleep 100", 0);
	reactor_timer_add(c.r, 0, probe_free, &c);
	run(&c);   /* returns: nothing is left to wait for */
	assert_true(c.freed);
	assert_int_equal(c.callbacks, 0);
	ctx_close(&c);   /* checks no child is left */
}

static void free_hook(struct ctx *c, struct slot *s)
{
	(void)s;
	executor_free(c->ex);
	c->freed = true;
}

static void test_free_from_callback(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 2, 4096);
	c.hook = free_hook;
	submit(&c, "exit 0", 0);
	submit(&c, "sleep 100", 0);
	submit(&c, "sleep 100", 0);
	run(&c);
	assert_int_equal(c.callbacks, 1);
	expect(&c.jobs[0], JOB_EXITED, 0);
	ctx_close(&c);
}

static void test_background_child_does_not_hold_job(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	/* The background sleep keeps stdout open, but dies with PID 1. */
	struct slot *s = submit(&c, "sleep 100 & echo hi", 0);
	run(&c);
	expect(s, JOB_EXITED, 0);
	expect_text(&s->res->out, "hi\n");
	expect_text(&s->res->err, "");
	ctx_close(&c);
}

static void test_plan_cache_keeps_shapes_apart(void **state)
{
	(void)state;
	struct ctx c;
	ctx_open(&c, 1, 4096);
	const char *dirs2[] = { layer_dir, layer2_dir };
	struct container_desc one = base_desc();
	struct container_desc two = {
		.layer_dirs = dirs2, .n_layer_dirs = 2, .mounts = &dev_null, .n_mounts = 1,
	};
	const char *script = "if [ -e /etc/which ]; then cat /etc/which; else echo one; fi";
	for (int i = 0; i < 4; i++)
		submit_desc(&c, i % 2 ? &two : &one, script, 0);
	run(&c);
	for (int i = 0; i < 4; i++) {
		expect(&c.jobs[i], JOB_EXITED, 0);
		expect_text(&c.jobs[i].res->out, i % 2 ? "two\n" : "one\n");
		expect_text(&c.jobs[i].res->err, "");
	}
	ctx_close(&c);
}

/* With no scratch_dir the executor makes its own under $TMPDIR, and removes
 * it when freed. */
static void test_own_scratch_dir(void **state)
{
	(void)state;
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/own-scratch", tmp_root);
	mkdirs(tmp_root, "own-scratch");
	setenv("TMPDIR", dir, 1);
	struct ctx c;
	memset(&c, 0, sizeof(c));
	struct err *e = NULL;
	assert_int_equal(reactor_new(&c.r, 0, &e), 0);
	struct executor_config cfg = { .slots = 0, .inline_limit = 100 };
	assert_int_equal(executor_new(&c.ex, c.r, &cfg, &e), 0);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
	c.slots = executor_slots(c.ex);
	assert_true(c.slots >= 1);   /* 0 means one per CPU */
	struct slot *s = submit(&c, "echo ok", 0);
	run(&c);
	expect(s, JOB_EXITED, 0);
	expect_text(&s->res->out, "ok\n");
	ctx_close(&c);
	assert_int_equal(rmdir(dir), 0);   /* empty again */
}

int main(void)
{
	alarm(300); /* a hung test fails instead of blocking CI */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_codes_and_streams),
		cmocka_unit_test(test_working_directory),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_timeout_keeps_partial_output),
		cmocka_unit_test(test_truncation_is_exact),
		cmocka_unit_test(test_large_output_does_not_block),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_missing_layer_is_execution_error),
		cmocka_unit_test(test_slot_limit),
		cmocka_unit_test(test_cancel_running_and_queued),
		cmocka_unit_test(test_reentrant_callbacks),
		cmocka_unit_test(test_free_kills_everything),
		cmocka_unit_test(test_free_from_callback),
		cmocka_unit_test(test_background_child_does_not_hold_job),
		cmocka_unit_test(test_plan_cache_keeps_shapes_apart),
		cmocka_unit_test(test_own_scratch_dir),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
