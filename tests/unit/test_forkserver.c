/*
 * test_forkserver: warm containers through the executor, with the static
 * zygote tests/fixtures/fork-server-stub.c (built next to this program).
 *
 * The group setup builds one layer from busybox-static (sh and the applets
 * the scripts use, as links to /bin/busybox) plus the stub, and stub
 * directories. Every test makes its own reactor and executor, runs
 * `sh -c SCRIPT` jobs naming the stub as their fork server, and checks the
 * results against the same jobs run cold, and the pool's statistics
 * (executor_fork_server_stats) to see which way each job went.
 *
 * With FORKSERVER_BENCH=<n> in the environment it runs no tests and instead
 * times n jobs of a static `true` cold and warm, and prints jobs/s.
 * Must pass as root and as an unprivileged user.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/executor.h"
#include "core/reactor.h"

#define MAX_JOBS 32

static char *tmp_root, *layer_dir, *scratch_dir, *log_dir, *log_file;

/* ---- the layer ----------------------------------------------------------- */

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fail_msg("open %s: %s", from, strerror(errno));
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

/* A helper built next to this test program. */
static void helper_path(const char *name, char *out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	if (snprintf(out, PATH_MAX, "%.*s/%s", PATH_MAX - 64, exe, name) >= PATH_MAX)
		fail_msg("path too long: %s/%s", exe, name);
	if (access(out, X_OK) < 0)
		fail_msg("%s is missing: build it with make (TEST_HELPERS)", out);
}

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&tmp_root, "%s/test-forkserver-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(tmp_root))
		return -1;
	chmod(tmp_root, 0755);
	if (asprintf(&layer_dir, "%s/layer", tmp_root) < 0 ||
	    asprintf(&scratch_dir, "%s/scratch", tmp_root) < 0 ||
	    asprintf(&log_dir, "%s/log", tmp_root) < 0 ||
	    asprintf(&log_file, "%s/starts", log_dir) < 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bin", layer_dir);
	mkdirs(path);
	mkdirs(scratch_dir);
	mkdirs(log_dir);
	snprintf(path, sizeof(path), "%s/bin/busybox", layer_dir);
	copy_file("/bin/busybox", path);
	static const char *const applets[] = {
		"sh", "echo", "cat", "sleep", "head", "yes", "true", "test", "ls", "ip", "kill",
	};
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(path, sizeof(path), "%s/bin/%s", layer_dir, applets[i]);
		if (symlink("busybox", path) < 0)
			fail_msg("symlink %s: %s", path, strerror(errno));
	}
	char from[PATH_MAX];
	helper_path("fork-server-stub", from);
	snprintf(path, sizeof(path), "%s/bin/fork-server-stub", layer_dir);
	copy_file(from, path);
	helper_path("static-true", from);
	snprintf(path, sizeof(path), "%s/bin/static-true", layer_dir);
	copy_file(from, path);
	static const char *const stubs[] = { "proc", "tmp", "dev", "sys", "log" };
	for (size_t i = 0; i < sizeof(stubs) / sizeof(stubs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", layer_dir, stubs[i]);
		mkdirs(path);
	}
	snprintf(path, sizeof(path), "%s/dev/null", layer_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
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
	free(scratch_dir);
	free(log_dir);
	free(log_file);
	return ret;
}

/* ---- running jobs ------------------------------------------------------- */

struct slot {
	uint64_t id;
	struct job_result *res;
	int calls;
};

struct ctx {
	struct reactor *r;
	struct executor *ex;
	struct slot jobs[MAX_JOBS];
	size_t n_jobs;
	int callbacks;
	unsigned max_live;          /* zygotes alive, seen from callbacks */
	void (*hook)(struct ctx *c, struct slot *s);
	bool cancel_on_start;       /* cancel each job as soon as it runs */
	bool freed;
};

static const struct mount_spec mounts[] = {
	{ .kind = MOUNT_DEVICES, .devices = DEVICE_NULL },
	{ .kind = MOUNT_PROC, .mount_point = (char *)"/proc" },
	{ .kind = MOUNT_TMP, .mount_point = (char *)"/tmp" },
	{ .kind = MOUNT_BIND, .mount_point = (char *)"/log" },
};

/* The container every job uses: busybox, /dev/null, /proc, a /tmp tmpfs,
 * and the host's log directory on /log (for the stub's --log). */
static struct container_desc desc(enum network_mode network)
{
	static const char *dirs[1];
	static struct mount_spec m[4];
	dirs[0] = layer_dir;
	memcpy(m, mounts, sizeof(m));
	m[3].local_path = log_dir;
	return (struct container_desc){
		.layer_dirs = dirs, .n_layer_dirs = 1,
		.mounts = m, .n_mounts = 4,
		.network = network,
	};
}

/* The context of the test running now: static, so that the teardown can
 * free what a failed test left (a live zygote would fail every later test
 * that checks no child is left). */
static struct ctx the_ctx;
static bool ctx_open_now;

static void ctx_open_cfg(struct ctx *c, const struct executor_config *cfg)
{
	memset(c, 0, sizeof(*c));
	ctx_open_now = true;
	struct err *e = NULL;
	if (reactor_new(&c->r, 0, &e) < 0)
		fail_msg("%s", err_msg(e));
	struct executor_config full = *cfg;
	full.scratch_dir = scratch_dir;
	if (executor_new(&c->ex, c->r, &full, &e) < 0)
		fail_msg("%s", err_msg(e));
}

static void ctx_open(struct ctx *c, unsigned slots, size_t limit)
{
	struct executor_config cfg = { .slots = slots, .inline_limit = limit };
	ctx_open_cfg(c, &cfg);
}

static struct fork_server_stats stats(struct ctx *c)
{
	struct fork_server_stats s;
	executor_fork_server_stats(c->ex, &s);
	return s;
}

static void ctx_close(struct ctx *c)
{
	ctx_open_now = false;
	if (!c->freed)
		executor_free(c->ex);
	reactor_free(c->r);
	for (size_t i = 0; i < c->n_jobs; i++)
		job_result_free(c->jobs[i].res);
	/* No container nor zygote outlives the test: no child at all. */
	siginfo_t info;
	assert_int_equal(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	unlink(log_file);
}

/* After each test: frees what a failed test left behind. */
static int teardown(void **state)
{
	(void)state;
	if (!ctx_open_now)
		return 0;
	ctx_open_now = false;
	struct ctx *c = &the_ctx;
	if (!c->freed)
		executor_free(c->ex);
	reactor_free(c->r);
	for (size_t i = 0; i < c->n_jobs; i++)
		job_result_free(c->jobs[i].res);
	siginfo_t info;
	while (waitid(P_ALL, 0, &info, WEXITED | WNOHANG) == 0 && info.si_pid)
		;
	unlink(log_file);
	return 0;
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
	unsigned live = stats(c).live;
	if (live > c->max_live)
		c->max_live = live;
	if (c->hook)
		c->hook(c, s);
	/* Warm zygotes keep the reactor busy: stop once every job is back. */
	if ((size_t)c->callbacks == c->n_jobs && !c->freed)
		reactor_stop(c->r);
}

static void on_start(void *arg, uint64_t id)
{
	struct ctx *c = arg;
	if (c->cancel_on_start)
		executor_cancel(c->ex, id);
}

/* The plain stub; variants add options. */
#define STUB "fork-server-stub"

/* Submits `sh -c script` in d, warm through zygote (NULL: cold). */
static struct slot *submit_in(struct ctx *c, const struct container_desc *d, const char *script,
			      uint32_t timeout_s, const char *const *zygote)
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
		.fork_server_argv = zygote,
	};
	struct slot *s = &c->jobs[c->n_jobs++];
	s->id = executor_submit(c->ex, &job, on_done, c);
	assert_true(s->id != 0);
	return s;
}

static struct slot *submit(struct ctx *c, const char *script, uint32_t timeout_s,
			   const char *const *zygote)
{
	struct container_desc d = desc(NETWORK_DISABLED);
	return submit_in(c, &d, script, timeout_s, zygote);
}

static void run(struct ctx *c)
{
	struct err *e = NULL;
	if (reactor_run(c->r, &e) < 0)
		fail_msg("%s", err_msg(e));
}

static const char *text(const struct captured *cap)
{
	return cap->data ? cap->data : "";
}

static void expect(const struct slot *s, enum job_outcome outcome, int code, const char *out)
{
	assert_non_null(s->res);
	const struct job_result *r = s->res;
	if (r->outcome != outcome || r->code != code || (out && strcmp(text(&r->out), out) != 0))
		fail_msg("job %" PRIu64 ": %s %d (%s), stdout \"%s\", stderr \"%s\"; expected "
			 "%s %d, stdout \"%s\"", s->id, job_outcome_name(r->outcome), r->code,
			 r->message ? r->message : "", text(&r->out), text(&r->err),
			 job_outcome_name(outcome), code, out ? out : "(any)");
}

/* Same outcome, code, message and output. */
static void expect_same(const struct slot *cold, const struct slot *warm)
{
	const struct job_result *a = cold->res, *b = warm->res;
	assert_non_null(a);
	assert_non_null(b);
	if (a->outcome != b->outcome || a->code != b->code ||
	    strcmp(text(&a->out), text(&b->out)) != 0 || strcmp(text(&a->err), text(&b->err)) != 0)
		fail_msg("cold: %s %d, \"%s\" / \"%s\"; warm: %s %d, \"%s\" / \"%s\"",
			 job_outcome_name(a->outcome), a->code, text(&a->out), text(&a->err),
			 job_outcome_name(b->outcome), b->code, text(&b->out), text(&b->err));
	assert_int_equal(a->out.len, b->out.len);
	assert_int_equal(a->out.truncated, b->out.truncated);
	assert_int_equal(a->err.truncated, b->err.truncated);
	assert_true((a->message == NULL) == (b->message == NULL));
	if (a->message)
		assert_string_equal(a->message, b->message);
	assert_true(b->duration_ns > 0);
}

/* Lines in the stub's start log: how many zygotes ran with --log. */
static int zygote_starts(void)
{
	FILE *f = fopen(log_file, "r");
	if (!f)
		return 0;
	int n = 0, ch;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* ---- same results as cold ----------------------------------------------- */

static void test_warm_matches_cold(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	static const char *const scripts[] = {
		"exit 3",
		"echo out; echo err >&2; echo $FOO; exit 0",
		":",
		"echo \"$PWD\"; cat /proc/1/cmdline | head -c 2; echo",
		"ulimit -c 0; ulimit -s 256; f() { f; }; f",
		"yes abc | head -c 100000",
		"yes | head -c 5000 >&2; yes | head -c 1000",
		"cat /no/such/file",
	};
	const size_t n = sizeof(scripts) / sizeof(scripts[0]);
	struct ctx *c = &the_ctx;
	ctx_open(c, 2, 1000);
	struct slot *cold[8], *warm[8];
	for (size_t i = 0; i < n; i++) {
		cold[i] = submit(c, scripts[i], 0, NULL);
		warm[i] = submit(c, scripts[i], 0, zygote);
	}
	run(c);
	for (size_t i = 0; i < n; i++)
		expect_same(cold[i], warm[i]);
	expect(warm[0], JOB_EXITED, 3, "");
	expect(warm[1], JOB_EXITED, 0, "out\nbar\n");
	expect(warm[3], JOB_EXITED, 0, "/\nsh\n");
	expect(warm[4], JOB_SIGNALED, SIGSEGV, "");
	assert_int_equal(warm[5]->res->out.truncated, 99000);
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.failed, 0);
	assert_int_equal(s.warm_jobs, n);
	assert_int_equal(s.cold_jobs, 0);
	assert_int_equal(s.live, 1);   /* stays warm until freed or idle */
	ctx_close(c);
}

/* A program the zygote cannot find: refused, then the cold launch says
 * why, as for any cold job. */
static void test_missing_program_same_as_cold(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 1, 4096);
	const char *envp[] = { "PATH=/bin", NULL };
	struct exec_job job = {
		.container = desc(NETWORK_DISABLED), .program = "nope", .envp = envp,
		.fork_server_argv = zygote,
	};
	struct slot *s = &c->jobs[c->n_jobs++];
	s->id = executor_submit(c->ex, &job, on_done, c);
	run(c);
	expect(s, JOB_EXECUTION_ERROR, 0, "");
	assert_non_null(strstr(s->res->message, "nope"));
	assert_int_equal(stats(c).cold_jobs, 1);
	ctx_close(c);
}

static void test_working_directory_and_network(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 2, 4096);
	const char *script = "echo \"$PWD\"; ip link show lo | head -n 1 | "
			     "while read a b flags rest; do echo $flags; done";
	struct slot *pairs[2][2];
	static const enum network_mode modes[] = { NETWORK_DISABLED, NETWORK_LOOPBACK };
	for (size_t m = 0; m < 2; m++) {
		struct container_desc d = desc(modes[m]);
		const char *argv[] = { "sh", "-c", script, NULL };
		const char *envp[] = { "PATH=/bin", NULL };
		for (int warm = 0; warm < 2; warm++) {
			struct exec_job job = {
				.container = d, .program = "sh", .argv = argv, .envp = envp,
				.working_directory = "/tmp",
				.fork_server_argv = warm ? zygote : NULL,
			};
			struct slot *s = &c->jobs[c->n_jobs++];
			s->id = executor_submit(c->ex, &job, on_done, c);
			pairs[m][warm] = s;
		}
	}
	run(c);
	expect(pairs[0][1], JOB_EXITED, 0, "/tmp\n<LOOPBACK>\n");
	expect(pairs[1][1], JOB_EXITED, 0, "/tmp\n<LOOPBACK,UP,LOWER_UP>\n");
	expect_same(pairs[0][0], pairs[0][1]);
	expect_same(pairs[1][0], pairs[1][1]);
	assert_int_equal(stats(c).warm_jobs, 2);
	ctx_close(c);
}

static void test_timeout_keeps_partial_output(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 1, 4096);
	struct slot *s = submit(c, "echo partial; echo half >&2; sleep 100", 1, zygote);
	run(c);
	expect(s, JOB_TIMED_OUT, 0, "partial\n");
	assert_string_equal(s->res->message, "timed out after 1 s");
	assert_string_equal(text(&s->res->err), "half\n");
	assert_true(s->res->duration_ns >= 1000000000ull);
	assert_int_equal(stats(c).warm_jobs, 1);
	ctx_close(c);
}

static void test_cancel_running(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 2, 4096);
	executor_on_start(c->ex, on_start);
	c->cancel_on_start = true;
	struct slot *a = submit(c, "sleep 100", 0, zygote);
	struct slot *b = submit(c, "sleep 100", 0, zygote);
	run(c);
	expect(a, JOB_CANCELED, 0, "");
	expect(b, JOB_CANCELED, 0, "");
	assert_int_equal(stats(c).warm_jobs, 2);
	assert_int_equal(stats(c).cold_jobs, 0);
	ctx_close(c);
}

/* Cancels the job while its zygote is still starting. */
static void probe_cancel_waiting(struct reactor *r, void *arg)
{
	(void)r;
	struct ctx *c = arg;
	assert_int_equal(executor_running(c->ex), 1);
	executor_cancel(c->ex, c->jobs[0].id);
	assert_int_equal(c->callbacks, 0);   /* never synchronous */
}

static void test_cancel_while_zygote_starts(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, "--never-ready", NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 1, 4096);
	struct slot *s = submit(c, "echo never", 0, zygote);
	reactor_timer_add(c->r, 10 * 1000 * 1000, probe_cancel_waiting, c);
	run(c);
	expect(s, JOB_CANCELED, 0, "");
	assert_int_equal(s->res->duration_ns, 0);
	assert_int_equal(stats(c).live, 1);
	ctx_close(c);   /* kills and reaps the zygote */
}

/* ---- isolation ------------------------------------------------------------- */

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

static void sleepers_gone_hook(struct ctx *c, struct slot *s)
{
	(void)c;
	(void)s;
	/* The job's PID namespace died with it: so did the background sleep. */
	assert_int_equal(count_sleepers(), 0);
}

static void test_isolation(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 1, 4096);
	snprintf(sleep_arg, sizeof(sleep_arg), "1000.%d", (int)getpid());
	char bg[128];
	snprintf(bg, sizeof(bg), "sleep %s & echo left running", sleep_arg);
	c->hook = sleepers_gone_hook;
	struct slot *write = submit(c, "echo x > /tmp/f && cat /tmp/f; echo $$; ls /proc | "
				     "while read p; do case $p in [0-9]*) echo $p;; esac; done", 0,
				    zygote);
	struct slot *look = submit(c, "test -e /tmp/f && echo seen || echo fresh", 0, zygote);
	struct slot *left = submit(c, bg, 0, zygote);
	struct slot *after = submit(c, "echo $$", 0, zygote);
	run(c);
	/* Own /tmp, own PID namespace (PID 1, and the only other process is
	 * the pipeline's reader), own /proc. */
	expect(write, JOB_EXITED, 0, NULL);
	assert_true(strncmp(text(&write->res->out), "x\n1\n1\n", 6) == 0);
	expect(look, JOB_EXITED, 0, "fresh\n");
	expect(left, JOB_EXITED, 0, "left running\n");
	expect(after, JOB_EXITED, 0, "1\n");
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.warm_jobs, 4);
	assert_int_equal(s.started, 1);
	ctx_close(c);
}

/* ---- failures -------------------------------------------------------------- */

static void test_refused_runs_cold(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, "--refuse", "sh", NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 2, 4096);
	struct slot *a = submit(c, "echo a; exit 4", 0, zygote);
	struct slot *b = submit(c, "echo b", 0, zygote);
	run(c);
	expect(a, JOB_EXITED, 4, "a\n");
	expect(b, JOB_EXITED, 0, "b\n");
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.warm_jobs, 0);
	assert_int_equal(s.cold_jobs, 2);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.failed, 0);
	assert_int_equal(s.live, 1);   /* a refusal does not break the zygote */
	ctx_close(c);
}

/* A zygote that dies while a job runs: the job runs again cold, and its
 * output is the cold run's only (the stub's doomed attempt wrote "lost
 * attempt"). The next job gets a fresh zygote. */
static void test_zygote_dies_mid_job(void **state)
{
	(void)state;
	char log_opt[PATH_MAX];
	snprintf(log_opt, sizeof(log_opt), "/log/starts");
	const char *const zygote[] = { STUB, "--die-on", "DIE", "--log", log_opt, NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 1, 4096);
	struct slot *a = submit(c, "echo DIE; echo done", 0, zygote);
	struct slot *b = submit(c, "echo next", 0, zygote);
	run(c);
	expect(a, JOB_EXITED, 0, "DIE\ndone\n");
	expect(b, JOB_EXITED, 0, "next\n");
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.lost, 1);
	assert_int_equal(s.failed, 0);
	assert_int_equal(s.started, 2);
	assert_int_equal(s.warm_jobs, 2);   /* a's lost attempt, then b */
	assert_int_equal(s.cold_jobs, 1);   /* a again */
	assert_int_equal(zygote_starts(), 2);
	ctx_close(c);
}

static void test_zygote_exits_after_jobs(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, "--exit-after", "2", NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 2, 4096);
	struct slot *s[6];
	for (int i = 0; i < 6; i++)
		s[i] = submit(c, "sleep 0.1; echo ok", 0, zygote);
	run(c);
	for (int i = 0; i < 6; i++)
		expect(s[i], JOB_EXITED, 0, "ok\n");
	/* However the exits interleave with new requests, no job is lost. */
	struct fork_server_stats st = stats(c);
	assert_true(st.started >= 2);
	assert_true(st.warm_jobs >= 2);
	assert_int_equal(st.failed, 0);
	ctx_close(c);
}

/* Every way of failing before ready: the job runs cold, the zygote is not
 * started again for the next job. */
static void test_broken_before_ready(void **state)
{
	(void)state;
	static const char *const never[] = { STUB, "--never-ready", NULL };
	static const char *const early[] = { STUB, "--exit-early", "5", NULL };
	static const char *const error[] = { STUB, "--error", "cannot collect", NULL };
	static const char *const closed[] = { STUB, "--close-socket", NULL };
	static const char *const missing[] = { "no-such-zygote", NULL };
	const char *const *zygotes[] = { never, early, error, closed, missing };
	const size_t n = sizeof(zygotes) / sizeof(zygotes[0]);
	struct executor_config cfg = { .slots = 2, .inline_limit = 4096,
				       .fork_server_ready_s = 1, .fork_servers_max = 8 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	struct slot *first[5], *second[5];
	for (size_t i = 0; i < n; i++)
		first[i] = submit(c, "echo cold", 0, zygotes[i]);
	run(c);
	for (size_t i = 0; i < n; i++)
		second[i] = submit(c, "echo again", 0, zygotes[i]);
	run(c);
	for (size_t i = 0; i < n; i++) {
		expect(first[i], JOB_EXITED, 0, "cold\n");
		expect(second[i], JOB_EXITED, 0, "again\n");
	}
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.started, n);
	assert_int_equal(s.failed, n);
	assert_int_equal(s.warm_jobs, 0);
	assert_int_equal(s.cold_jobs, 2 * n);
	assert_int_equal(s.live, 0);
	ctx_close(c);
}

/* A zygote that never answers a request is given up after the ready
 * time-out; the job runs cold. */
static void test_unanswered_request(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, "--mute-on", "MUTE", NULL };
	struct executor_config cfg = { .slots = 1, .inline_limit = 4096,
				       .fork_server_ready_s = 1 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	struct slot *a = submit(c, "echo MUTE", 0, zygote);
	run(c);
	expect(a, JOB_EXITED, 0, "MUTE\n");
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.lost, 1);
	assert_int_equal(s.cold_jobs, 1);
	ctx_close(c);
}

/* ---- the pool ------------------------------------------------------------ */

static void test_eviction(void **state)
{
	(void)state;
	const char *const za[] = { STUB, "--log", "/log/starts", NULL };
	const char *const zb[] = { STUB, "--log", "/log/starts", "--refuse", "none", NULL };
	struct executor_config cfg = { .slots = 2, .inline_limit = 4096, .fork_servers_max = 1 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	/* One after the other: each key evicts the other's idle zygote. */
	const char *const *order[] = { za, zb, za, za };
	for (size_t i = 0; i < 4; i++) {
		struct slot *s = submit(c, "echo hi", 0, order[i]);
		run(c);
		expect(s, JOB_EXITED, 0, "hi\n");
	}
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.started, 3);
	assert_int_equal(s.warm_jobs, 4);
	assert_int_equal(zygote_starts(), 3);
	assert_true(c->max_live <= 1);
	/* At once: zb's zygote is busy, none is idle: za's job runs cold. */
	struct slot *busy = submit(c, "sleep 0.3; echo busy", 0, zb);
	struct slot *other = submit(c, "echo other", 0, za);
	run(c);
	expect(busy, JOB_EXITED, 0, "busy\n");
	expect(other, JOB_EXITED, 0, "other\n");
	s = stats(c);
	assert_int_equal(s.started, 4);
	assert_int_equal(s.warm_jobs, 5);
	assert_int_equal(s.cold_jobs, 1);
	ctx_close(c);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct executor_config cfg = { .slots = 1, .inline_limit = 4096, .fork_server_idle_s = 1 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	struct slot *s = submit(c, "echo hi", 0, zygote);
	run(c);
	expect(s, JOB_EXITED, 0, "hi\n");
	assert_int_equal(stats(c).live, 1);
	/* Now run() returns once nothing is left: the idle zygote was
	 * stopped and reaped (its pidfd and timer were all that remained). */
	run(c);
	assert_int_equal(stats(c).live, 0);
	assert_int_equal(stats(c).lost, 0);
	/* The next job starts a new one. */
	s = submit(c, "echo again", 0, zygote);
	run(c);
	expect(s, JOB_EXITED, 0, "again\n");
	assert_int_equal(stats(c).started, 2);
	ctx_close(c);
}

/* Frees the executor once job 0's background sleep runs. */
static void probe_free(struct reactor *r, void *arg)
{
	struct ctx *c = arg;
	if (count_sleepers() < 2) {
		reactor_timer_add(r, 10 * 1000 * 1000, probe_free, c);
		return;
	}
	assert_true(stats(c).live >= 2);
	executor_free(c->ex);
	c->freed = true;
	assert_int_equal(count_sleepers(), 0);
}

static void test_free_with_live_zygotes(void **state)
{
	(void)state;
	static const char *const za[] = { STUB, NULL };
	static const char *const zb[] = { STUB, "--never-ready", NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 3, 4096);
	snprintf(sleep_arg, sizeof(sleep_arg), "1001.%d", (int)getpid());
	char script[128];
	snprintf(script, sizeof(script), "sleep %s & sleep %s", sleep_arg, sleep_arg);
	submit(c, script, 0, za);
	submit(c, "echo waits", 0, zb);
	reactor_timer_add(c->r, 0, probe_free, c);
	run(c);
	assert_true(c->freed);
	assert_int_equal(c->callbacks, 0);
	ctx_close(c);   /* no child left: zygotes and jobs reaped */
}

/* ---- prewarm (executor_prewarm) ------------------------------------------- */

/* The spec of a job running `sh -c script` with fork server zygote, as
 * submit_in makes it (prewarm and jobs share the key). */
static struct exec_job job_like(const struct container_desc *d, const char *const *zygote)
{
	static const char *const envp[] = { "PATH=/bin", "FOO=bar", NULL };
	return (struct exec_job){
		.container = *d, .program = "sh", .envp = envp, .fork_server_argv = zygote,
	};
}

static const char *const *prewarm_zygote;

/* Submits the job once the prewarmed zygote said ready. */
static void probe_ready(struct reactor *r, void *arg)
{
	struct ctx *c = arg;
	if (stats(c).became_ready == 0) {
		reactor_timer_add(r, 10 * 1000 * 1000, probe_ready, c);
		return;
	}
	submit(c, "echo $FOO; echo $$", 0, prewarm_zygote);
}

/* A zygote started without a job holds no slot; the first job naming its
 * key finds it ready and is forked by it. */
static void test_prewarm_then_job(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, "--log", "/log/starts", NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 1, 4096);
	struct container_desc d = desc(NETWORK_DISABLED);
	struct exec_job spec = job_like(&d, zygote);
	spec.program = NULL;   /* ignored */
	assert_true(executor_prewarm(c->ex, &spec));
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.prewarmed, 1);
	assert_int_equal(s.live, 1);
	assert_int_equal(executor_running(c->ex), 0);
	assert_int_equal(executor_queued(c->ex), 0);
	/* Once is enough: the same key finds it starting. */
	assert_true(executor_prewarm(c->ex, &spec));
	assert_int_equal(stats(c).started, 1);
	/* No fork server, or a terminal: nothing to start. */
	struct exec_job cold = job_like(&d, NULL);
	assert_false(executor_prewarm(c->ex, &cold));
	struct exec_job tty = spec;
	tty.has_tty = true;
	assert_false(executor_prewarm(c->ex, &tty));
	assert_int_equal(c->callbacks, 0);   /* a prewarm has no callback */
	prewarm_zygote = zygote;
	reactor_timer_add(c->r, 0, probe_ready, c);
	run(c);
	expect(&c->jobs[0], JOB_EXITED, 0, "bar\n1\n");
	s = stats(c);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.became_ready, 1);
	assert_int_equal(s.warm_jobs, 1);
	assert_int_equal(s.cold_jobs, 0);
	assert_int_equal(zygote_starts(), 1);
	ctx_close(c);
}

/* A job submitted right after the prewarm waits for that zygote instead
 * of starting another. */
static void test_prewarm_then_job_at_once(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, "--ready-delay-ms", "200", NULL };
	struct ctx *c = &the_ctx;
	ctx_open(c, 2, 4096);
	struct container_desc d = desc(NETWORK_DISABLED);
	struct exec_job spec = job_like(&d, zygote);
	assert_true(executor_prewarm(c->ex, &spec));
	struct slot *a = submit(c, "echo a", 0, zygote);
	struct slot *b = submit(c, "echo b", 0, zygote);
	run(c);
	expect(a, JOB_EXITED, 0, "a\n");
	expect(b, JOB_EXITED, 0, "b\n");
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.started, 1);
	assert_int_equal(s.prewarmed, 1);
	assert_int_equal(s.warm_jobs, 2);
	ctx_close(c);
}

/* A prewarmed zygote that no job uses is stopped once idle. */
static void test_prewarm_idles_out(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct executor_config cfg = { .slots = 1, .inline_limit = 4096, .fork_server_idle_s = 1 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	struct container_desc d = desc(NETWORK_DISABLED);
	struct exec_job spec = job_like(&d, zygote);
	assert_true(executor_prewarm(c->ex, &spec));
	/* run() returns once nothing is left: the zygote became ready, idled
	 * and was stopped and reaped. */
	run(c);
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.became_ready, 1);
	assert_int_equal(s.live, 0);
	assert_int_equal(s.lost, 0);
	assert_int_equal(s.failed, 0);
	ctx_close(c);
}

/* A zygote that cannot start breaks its key, as when a job starts it:
 * later prewarms do nothing and the jobs run cold. */
static void test_prewarm_broken(void **state)
{
	(void)state;
	static const char *const missing[] = { "no-such-zygote", NULL };
	static const char *const early[] = { STUB, "--exit-early", "5", NULL };
	struct executor_config cfg = { .slots = 2, .inline_limit = 4096,
				       .fork_server_ready_s = 1 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	struct container_desc d = desc(NETWORK_DISABLED);
	struct exec_job spec_missing = job_like(&d, missing);
	struct exec_job spec_early = job_like(&d, early);
	executor_prewarm(c->ex, &spec_missing);
	assert_true(executor_prewarm(c->ex, &spec_early));   /* launched; fails later */
	run(c);   /* until both are gone */
	assert_false(executor_prewarm(c->ex, &spec_missing));
	assert_false(executor_prewarm(c->ex, &spec_early));
	struct slot *a = submit(c, "echo cold", 0, missing);
	struct slot *b = submit(c, "echo cold", 0, early);
	run(c);
	expect(a, JOB_EXITED, 0, "cold\n");
	expect(b, JOB_EXITED, 0, "cold\n");
	struct fork_server_stats s = stats(c);
	assert_int_equal(s.started, 2);
	assert_int_equal(s.prewarmed, 2);
	assert_int_equal(s.failed, 2);
	assert_int_equal(s.cold_jobs, 2);
	assert_int_equal(s.live, 0);
	ctx_close(c);
}

static bool prewarm_result;

static void prewarm_on_start(void *arg, uint64_t id)
{
	(void)id;
	static const char *const other[] = { STUB, "--refuse", "none", NULL };
	struct ctx *c = arg;
	struct container_desc d = desc(NETWORK_DISABLED);
	struct exec_job spec = job_like(&d, other);
	prewarm_result = executor_prewarm(c->ex, &spec);
}

/* A full pool whose zygotes are all busy takes no prewarm (nothing is
 * evicted from under a job). */
static void test_prewarm_pool_full(void **state)
{
	(void)state;
	static const char *const zygote[] = { STUB, NULL };
	struct executor_config cfg = { .slots = 1, .inline_limit = 4096, .fork_servers_max = 1 };
	struct ctx *c = &the_ctx;
	ctx_open_cfg(c, &cfg);
	executor_on_start(c->ex, prewarm_on_start);
	prewarm_result = true;
	struct slot *s = submit(c, "echo busy", 0, zygote);
	run(c);
	expect(s, JOB_EXITED, 0, "busy\n");
	assert_false(prewarm_result);
	struct fork_server_stats st = stats(c);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.prewarmed, 0);
	ctx_close(c);
}

/* ---- FORKSERVER_BENCH ------------------------------------------------------ */

struct bench_run {
	struct reactor *r;
	int left;
};

static void bench_done(void *arg, uint64_t id, struct job_result *res)
{
	(void)id;
	struct bench_run *b = arg;
	if (res->outcome != JOB_EXITED || res->code != 0)
		fprintf(stderr, "bench job: %s %d %s\n", job_outcome_name(res->outcome), res->code,
			res->message ? res->message : "");
	job_result_free(res);
	if (--b->left == 0)
		reactor_stop(b->r);
}

static double bench_one(unsigned slots, int n, bool warm, enum network_mode network)
{
	static const char *const zygote[] = { STUB, NULL };
	static const struct mount_spec none[1];
	struct executor_config cfg = { .slots = slots, .inline_limit = 4096,
				       .scratch_dir = scratch_dir };
	struct reactor *r;
	struct executor *ex;
	struct err *e = NULL;
	if (reactor_new(&r, 0, &e) < 0 || executor_new(&ex, r, &cfg, &e) < 0) {
		fprintf(stderr, "%s\n", err_msg(e));
		exit(1);
	}
	static const char *dirs[1];
	dirs[0] = layer_dir;
	struct container_desc d = { .layer_dirs = dirs, .n_layer_dirs = 1, .mounts = none,
				    .network = network };
	const char *argv[] = { "static-true", NULL };
	const char *envp[] = { "PATH=/bin", NULL };
	struct exec_job job = { .container = d, .program = "static-true", .argv = argv,
				.envp = envp, .fork_server_argv = warm ? zygote : NULL };
	/* Warm-up: the plan is compiled, the zygote started. */
	struct bench_run b = { .r = r, .left = 1 };
	executor_submit(ex, &job, bench_done, &b);
	if (reactor_run(r, &e) < 0)
		exit(1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b.left = n;
	for (int i = 0; i < n; i++)
		executor_submit(ex, &job, bench_done, &b);
	if (reactor_run(r, &e) < 0)
		exit(1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct fork_server_stats st;
	executor_fork_server_stats(ex, &st);
	if (warm && st.warm_jobs != (uint64_t)n + 1)
		fprintf(stderr, "only %" PRIu64 " of %d jobs ran warm\n", st.warm_jobs, n + 1);
	executor_free(ex);
	reactor_free(r);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return n / s;
}

/* Cold jobs take their network namespace from the executor's pool; a
 * warm child makes its own (network "disabled"), or none ("local"). */
static void bench(int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned par[] = { 1, (unsigned)(cpus > 0 ? cpus : 1) };
	static const enum network_mode nets[] = { NETWORK_DISABLED, NETWORK_LOCAL };
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < 2; i++) {
			double cold = bench_one(par[i], n, false, nets[k]);
			double warm = bench_one(par[i], n, true, nets[k]);
			printf("%d jobs of static true, network %s, %u slot%s: cold %.0f jobs/s "
			       "(%.0f us/job), warm %.0f jobs/s (%.0f us/job), warm/cold %.2fx\n",
			       n, network_mode_name(nets[k]), par[i], par[i] == 1 ? "" : "s", cold,
			       1e6 / cold, warm, 1e6 / warm, warm / cold);
		}
	}
}

int main(void)
{
	const char *b = getenv("FORKSERVER_BENCH");
	if (b && atoi(b) > 0) {
		group_setup(NULL);
		bench(atoi(b));
		group_teardown(NULL);
		return 0;
	}
	alarm(300); /* a hung test fails instead of blocking CI */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_warm_matches_cold, teardown),
		cmocka_unit_test_teardown(test_missing_program_same_as_cold, teardown),
		cmocka_unit_test_teardown(test_working_directory_and_network, teardown),
		cmocka_unit_test_teardown(test_timeout_keeps_partial_output, teardown),
		cmocka_unit_test_teardown(test_cancel_running, teardown),
		cmocka_unit_test_teardown(test_cancel_while_zygote_starts, teardown),
		cmocka_unit_test_teardown(test_isolation, teardown),
		cmocka_unit_test_teardown(test_refused_runs_cold, teardown),
		cmocka_unit_test_teardown(test_zygote_dies_mid_job, teardown),
		cmocka_unit_test_teardown(test_zygote_exits_after_jobs, teardown),
		cmocka_unit_test_teardown(test_broken_before_ready, teardown),
		cmocka_unit_test_teardown(test_unanswered_request, teardown),
		cmocka_unit_test_teardown(test_eviction, teardown),
		cmocka_unit_test_teardown(test_idle_timeout, teardown),
		cmocka_unit_test_teardown(test_free_with_live_zygotes, teardown),
		cmocka_unit_test_teardown(test_prewarm_then_job, teardown),
		cmocka_unit_test_teardown(test_prewarm_then_job_at_once, teardown),
		cmocka_unit_test_teardown(test_prewarm_idles_out, teardown),
		cmocka_unit_test_teardown(test_prewarm_broken, teardown),
		cmocka_unit_test_teardown(test_prewarm_pool_full, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
