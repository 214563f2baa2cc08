/*
 * test_local_worker: the local worker (container/local_worker.h) hands a
 * job's optional parts to the executor: its fork server (a copy of the
 * argv, so the caller's may go at once) and its terminal (a copy of the
 * fd, so the caller may close its own right after submitting).
 *
 * The group setup builds the layers with artifacts/layer_build.h into a
 * store: /bin/busybox with links to it, the fork-server stub
 * (tests/fixtures/fork-server-stub.c, built next to this program) and stub
 * directories. Must pass as root and as an unprivileged user.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <setjmp.h>
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

#include "artifacts/extract.h"
#include "artifacts/layer_build.h"
#include "artifacts/store.h"
#include "container/local_worker.h"
#include "core/reactor.h"

#define N_LAYERS 4

static char *tmp_root, *store_dir;
static struct digest layers[N_LAYERS];

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&tmp_root, "%s/test-local-worker-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(tmp_root) || asprintf(&store_dir, "%s/store", tmp_root) < 0)
		return -1;
	chmod(tmp_root, 0755);
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	char stub[PATH_MAX + 32];
	snprintf(stub, sizeof(stub), "%s/fork-server-stub", exe);
	char helpers_dir[PATH_MAX + 2];
	snprintf(helpers_dir, sizeof(helpers_dir), "%s/", exe);

	struct store *s = NULL;
	struct layer_builder *b = NULL;
	struct err *err = NULL;
	int rc = -1;
	if (store_open(&s, store_dir, 1ull << 30, &err) < 0 ||
	    layer_builder_new(&b, s, tmp_root, &err) < 0)
		goto out;
	char *bb[] = { (char *)"/bin/busybox", stub };
	struct symlink_spec links[] = {
		{ (char *)"/bin/sh", (char *)"busybox" }, { (char *)"/bin/echo", (char *)"busybox" },
		{ (char *)"/bin/test", (char *)"busybox" },
	};
	char *stubs[] = { (char *)"/{proc,sys,tmp,dev}/" };
	struct layer_spec specs[N_LAYERS] = {
		{ .kind = LAYER_PATHS, .paths = bb, .n_paths = 1 },
		{ .kind = LAYER_SYMLINKS, .symlinks = links, .n_symlinks = 3 },
		{ .kind = LAYER_STUBS, .paths = stubs, .n_paths = 1 },
		/* The stub, as /bin/fork-server-stub. */
		{ .kind = LAYER_PATHS, .paths = &bb[1], .n_paths = 1,
		  .prefix = { .strip_prefix = helpers_dir, .prepend_prefix = (char *)"/bin/" } },
	};
	for (size_t i = 0; i < N_LAYERS; i++)
		if (layer_build(b, &specs[i], &layers[i], &err) < 0)
			goto out;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "group setup: %s\n", err_msg(err));
	err_free(&err);
	layer_builder_free(b);
	store_free(s);
	return rc;
}

static int group_teardown(void **state)
{
	(void)state;
	struct err *err = NULL;
	if (tmp_root && extract_remove_tree(AT_FDCWD, tmp_root, &err) < 0)
		fprintf(stderr, "group teardown: %s\n", err_msg(err));
	err_free(&err);
	free(tmp_root);
	free(store_dir);
	return 0;
}

struct world {
	struct reactor *r;
	struct store *store;
	struct local_worker *w;
	struct job_result *res[4];
	int done, want;
};

static void on_done(void *arg, uint64_t id, struct job_result *res)
{
	struct world *wd = arg;
	assert_true(id >= 1 && id <= 4);
	assert_null(wd->res[id - 1]);
	wd->res[id - 1] = res;
	if (++wd->done == wd->want)
		reactor_stop(wd->r);
}

static void world_open(struct world *wd, int want)
{
	memset(wd, 0, sizeof(*wd));
	wd->want = want;
	struct err *err = NULL;
	if (reactor_new(&wd->r, 0, &err) < 0 || store_open(&wd->store, store_dir, 1ull << 30, &err) < 0)
		fail_msg("%s", err_msg(err));
	struct executor_config cfg = { .slots = 2, .inline_limit = 4096 };
	if (local_worker_new(&wd->w, wd->r, wd->store, &cfg, &err) < 0)
		fail_msg("%s", err_msg(err));
}

/* Runs until every job is back (a warm zygote would keep the reactor
 * busy for long after). */
static void world_run(struct world *wd)
{
	struct err *err = NULL;
	if (reactor_run(wd->r, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(wd->done, wd->want);
}

/* Frees everything; no child may be left. */
static void world_close(struct world *wd)
{
	struct err *err = NULL;
	local_worker_free(wd->w);
	/* Let the extraction helpers be reaped. */
	if (reactor_run(wd->r, &err) < 0)
		fail_msg("%s", err_msg(err));
	store_free(wd->store);
	reactor_free(wd->r);
	siginfo_t info;
	assert_int_equal(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1);
}

static struct worker_job job_of(const char *const *args, size_t n_args)
{
	static const char *const envp[] = { "PATH=/bin", NULL };
	return (struct worker_job){
		.layers = layers, .n_layers = N_LAYERS,
		.network = NETWORK_DISABLED,
		.program = "sh", .arguments = args, .n_arguments = n_args,
		.envp = envp,
	};
}

static void expect_out(const struct job_result *r, const char *out)
{
	assert_non_null(r);
	if (r->outcome != JOB_EXITED || r->code != 0 || strcmp(r->out.data ? r->out.data : "", out))
		fail_msg("%s %d (%s): \"%s\" / \"%s\"", job_outcome_name(r->outcome), r->code,
			 r->message ? r->message : "", r->out.data ? r->out.data : "",
			 r->err.data ? r->err.data : "");
}

static void test_fork_server_passed_on(void **state)
{
	(void)state;
	struct world wd;
	world_open(&wd, 2);
	static const char *const args[] = { "-c", "echo warm $$", NULL };
	for (int i = 0; i < 2; i++) {
		/* The caller's argv goes right after submit: the worker copies it. */
		char **zygote = calloc(2, sizeof(*zygote));
		assert_non_null(zygote);
		zygote[0] = strdup("fork-server-stub");
		struct worker_job job = job_of(args, 2);
		job.fork_server_argv = (const char *const *)zygote;
		assert_int_equal(local_worker_submit(wd.w, &job, on_done, &wd), (uint64_t)i + 1);
		free(zygote[0]);
		free(zygote);
	}
	world_run(&wd);
	expect_out(wd.res[0], "warm 1\n");
	expect_out(wd.res[1], "warm 1\n");
	struct fork_server_stats st;
	local_worker_fork_server_stats(wd.w, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.warm_jobs, 2);
	assert_int_equal(st.cold_jobs, 0);
	for (int i = 0; i < 2; i++)
		job_result_free(wd.res[i]);
	world_close(&wd);   /* kills and reaps the zygote */
}

/* Submits job 1 once the prewarmed zygote said ready. */
static void probe_ready(struct reactor *r, void *arg)
{
	struct world *wd = arg;
	struct fork_server_stats st;
	local_worker_fork_server_stats(wd->w, &st);
	if (st.became_ready == 0) {
		reactor_timer_add(r, 10 * 1000 * 1000, probe_ready, wd);
		return;
	}
	static const char *const args[] = { "-c", "echo warm $$", NULL };
	static const char *const zygote[] = { "fork-server-stub", NULL };
	struct worker_job job = job_of(args, 2);
	job.fork_server_argv = zygote;
	assert_int_equal(local_worker_submit(wd->w, &job, on_done, wd), 1);
}

/* A prewarm extracts the layers and starts the zygote with no job; the
 * first job naming it is forked by it. */
static void test_prewarm_starts_the_zygote(void **state)
{
	(void)state;
	struct world wd;
	world_open(&wd, 1);
	/* Without a fork server there is nothing to start. */
	struct worker_job cold = job_of(NULL, 0);
	cold.program = NULL;
	local_worker_prewarm(wd.w, &cold);
	/* The caller's argv may go at once: the worker copies it. */
	char **zygote = calloc(2, sizeof(*zygote));
	assert_non_null(zygote);
	zygote[0] = strdup("fork-server-stub");
	struct worker_job warm = cold;
	warm.fork_server_argv = (const char *const *)zygote;
	local_worker_prewarm(wd.w, &warm);
	free(zygote[0]);
	free(zygote);
	reactor_timer_add(wd.r, 0, probe_ready, &wd);
	world_run(&wd);
	expect_out(wd.res[0], "warm 1\n");
	struct fork_server_stats st;
	local_worker_fork_server_stats(wd.w, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.prewarmed, 1);
	assert_int_equal(st.warm_jobs, 1);
	assert_int_equal(st.cold_jobs, 0);
	job_result_free(wd.res[0]);
	world_close(&wd);
}

static void test_tty_passed_on(void **state)
{
	(void)state;
	struct world wd;
	world_open(&wd, 1);
	int master, slave;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	static const char *const args[] = { "-c", "test -t 0 && test -t 1 && echo on a tty", NULL };
	struct worker_job job = job_of(args, 2);
	job.has_tty = true;
	job.tty_fd = slave;
	assert_int_equal(local_worker_submit(wd.w, &job, on_done, &wd), 1);
	/* The job starts later (its layers are extracted first): the
	 * worker's copy of the fd is what it gets. */
	close(slave);
	world_run(&wd);
	world_close(&wd);
	assert_non_null(wd.res[0]);
	assert_int_equal(wd.res[0]->outcome, JOB_EXITED);
	assert_int_equal(wd.res[0]->code, 0);
	assert_null(wd.res[0]->out.data);
	char screen[256];
	ssize_t n = read(master, screen, sizeof(screen) - 1);
	assert_true(n > 0);
	screen[n] = '\0';
	assert_string_equal(screen, "on a tty\r\n");
	close(master);
	job_result_free(wd.res[0]);
}

int main(void)
{
	alarm(120); /* a hung test fails instead of blocking CI */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork_server_passed_on),
		cmocka_unit_test(test_tty_passed_on),
		cmocka_unit_test(test_prewarm_starts_the_zygote),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
