/*
 * Unit tests for container/launch with a container/netpool network
 * namespace pool: reuse, busy slots and the limit, jobs that try to
 * reconfigure the network, modes the pool is not used for, and failures and
 * kills of pooled jobs (the other launch tests are in test_launch.c; the
 * shared fixture is in launch_fixture.h).
 *
 * Needs unprivileged user namespaces; runs as root and as any user.
 *
 * With LAUNCH_BENCH=<n> in the environment it runs no tests and instead times
 * n launches of each kind (static /bin/true, no mounts / typical mounts /
 * loopback, pooled or not, vfork and fork clones) and prints the latencies.
 */
#include "launch_fixture.h"

/* ---- network namespace pool ------------------------------------------------- */

static const char *const lo_script =
	"up=down; while read idx dev rest; do [ \"$dev\" = lo ] && up=up; done < /proc/net/igmp; "
	"echo $$ $up $(id -u) $(id -g)";

static void test_pool_reuses_namespaces(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(2);
	use_pool = pool;
	struct shape s = { .network = NETWORK_LOOPBACK, .user = 1000, .group = 100,
		           .mounts = { M(MOUNT_PROC, "/proc") }, .n_mounts = 1 };
	struct mount_plan *lo = compile(&s);
	s.network = NETWORK_DISABLED;
	struct mount_plan *off = compile(&s);
	struct job j;
	for (int i = 0; i < 3; i++) {
		run_sh(lo, lo_script, &j);
		assert_string_equal(j.err, "");
		assert_string_equal(j.out, "1 up 1000 100\n");
		run_sh(off, lo_script, &j);
		assert_string_equal(j.out, "1 down 1000 100\n");
	}
	/* One after the other: one namespace of each kind was enough. */
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 1);
	assert_int_equal(netns_pool_count(pool, NETWORK_DISABLED), 1);
	use_pool = NULL;
	netns_pool_free(pool);
	mount_plan_free(lo);
	mount_plan_free(off);
}

static void test_pool_busy_slot_and_limit(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(1);
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_PROC, "/proc") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	static const char *const env[] = { "PATH=/bin", NULL };
	int in[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	/* One output file per job, so the check does not depend on how two
	 * writers sharing one file offset interleave. */
	int out = memfd_create("out", MFD_CLOEXEC);
	int out2 = memfd_create("out2", MFD_CLOEXEC);
	const char *argv[] = { "sh", "-c", "read x; echo $$", NULL };
	struct launch_request req = { .plan = p, .program = "sh", .argv = argv, .envp = env,
		                      .stdin_fd = in[0], .stdout_fd = out, .stderr_fd = out,
		                      .netns_pool = pool };
	struct launch_result first, second;
	enum launch_failure f;
	struct err *e = NULL;
	assert_int_equal(container_launch(&req, &first, &f, &e), 0);
	/* The only slot is busy: the second job gets a fresh namespace. */
	req.stdout_fd = req.stderr_fd = out2;
	assert_int_equal(container_launch(&req, &second, &f, &e), 0);
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 1);
	assert_int_equal(write(in[1], "a\nb\n", 4), 4);
	assert_int_equal(wait_job(first.pidfd), 0);
	assert_int_equal(wait_job(second.pidfd), 0);
	close(first.pidfd);
	close(second.pidfd);
	char buf[64];
	slurp(out, buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	slurp(out2, buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	close(out2);
	close(in[0]);
	close(in[1]);
	close(out);
	netns_pool_free(pool);
	mount_plan_free(p);
}

static void test_pool_job_cannot_reconfigure_network(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(1);
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_PROC, "/proc") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	const char *script = "echo 1 > /proc/sys/net/ipv4/ip_forward && echo wrote || echo refused";
	struct job j;
	/* Its own namespace: root of the job may configure it. */
	run_sh(p, script, &j);
	assert_string_equal(j.out, "wrote\n");
	/* A pooled one belongs to the pool's holder: it may not. */
	use_pool = pool;
	run_sh(p, script, &j);
	use_pool = NULL;
	assert_string_equal(j.out, "refused\n");
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 1);
	netns_pool_free(pool);
	mount_plan_free(p);
}

static void test_pool_not_used_for_sys_or_local(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(4);
	use_pool = pool;
	struct shape s = { .network = NETWORK_LOOPBACK, .mounts = { M(MOUNT_SYS, "/sys") },
		           .n_mounts = 1 };
	struct mount_plan *p = compile(&s);
	struct job j;
	run_sh(p, net_script, &j);
	assert_string_equal(j.out, "lo\n0x9\n");
	mount_plan_free(p);
	struct shape local = { .network = NETWORK_LOCAL };
	p = compile(&local);
	run_sh(p, "echo $$", &j);
	assert_string_equal(j.out, "1\n");
	mount_plan_free(p);
	use_pool = NULL;
	assert_int_equal(netns_pool_count(pool, NETWORK_LOOPBACK), 0);
	assert_int_equal(netns_pool_count(pool, NETWORK_LOCAL), 0);
	netns_pool_free(pool);
}

static void test_pool_failure_and_kill(void **state)
{
	(void)state;
	struct netns_pool *pool = netns_pool_new(2);
	struct err *e = NULL;
	assert_int_equal(netns_pool_prefill(pool, NETWORK_DISABLED, 2, &e), 0);
	assert_int_equal(netns_pool_count(pool, NETWORK_DISABLED), 2);
	use_pool = pool;
	struct shape s = { .mounts = { M(MOUNT_TMP, "/tmp"), M(MOUNT_TMP, "/tmp/sub") },
		           .n_mounts = 2 };
	struct mount_plan *p = compile(&s);
	int before = count_fds();
	struct job j;
	const char *argv[] = { "nope", NULL };
	run_argv(p, "nope", argv, NULL, -1, &j);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "mount tmp on /tmp/sub: No such file or directory");
	mount_plan_free(p);
	struct shape plain = { 0 };
	p = compile(&plain);
	run_argv(p, "nope", argv, NULL, -1, &j);
	assert_int_equal(j.failure, LAUNCH_EXECUTION_ERROR);
	assert_string_equal(j.message, "exec `nope`: not found in PATH (/bin)");
	assert_int_equal(count_fds(), before);
	siginfo_t si;
	assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);

	/* Killing a pooled job kills its PID namespace; the slot frees up. */
	int in[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	static const char *const env[] = { "PATH=/bin", NULL };
	const char *argv2[] = { "sh", "-c", "read x", NULL };
	struct launch_request req = { .plan = p, .program = "sh", .argv = argv2, .envp = env,
		                      .stdin_fd = in[0], .stdout_fd = in[1], .stderr_fd = in[1],
		                      .netns_pool = pool };
	struct launch_result res;
	enum launch_failure f;
	assert_int_equal(container_launch(&req, &res, &f, &e), 0);
	assert_int_equal(container_kill(res.pidfd), 0);
	assert_int_equal(wait_job(res.pidfd), -SIGKILL);
	close(res.pidfd);
	close(in[0]);
	close(in[1]);
	run_sh(p, "echo $$", &j);
	assert_string_equal(j.out, "1\n");
	assert_int_equal(netns_pool_count(pool, NETWORK_DISABLED), 2);
	use_pool = NULL;
	mount_plan_free(p);
	netns_pool_free(pool);
}

/* ---- latency (LAUNCH_BENCH=n) ----------------------------------------------- */

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Times n launches (launch only, and launch + exit + reap) of /true. */
static void bench_one(const char *name, const struct container_desc *d, int n,
                      struct netns_pool *pool)
{
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	if (mount_plan_compile(&p, d, scratch, &e) < 0) {
		printf("%s: %s\n", name, err_msg(e));
		err_free(&e);
		return;
	}
	static const char *const env[] = { "PATH=/", NULL };
	const char *argv[] = { "true", NULL };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct launch_request req = { .plan = p, .program = "/true", .argv = argv, .envp = env,
		                      .stdin_fd = devnull, .stdout_fd = devnull, .stderr_fd = devnull,
		                      .netns_pool = pool };
	double *launch = calloc((size_t)n, sizeof(double)), *total = calloc((size_t)n, sizeof(double));
	for (int i = 0; i < n; i++) {
		struct launch_result res;
		enum launch_failure f;
		double t0 = now_us();
		if (container_launch(&req, &res, &f, &e) < 0) {
			printf("%s: %s\n", name, err_msg(e));
			err_free(&e);
			break;
		}
		double t1 = now_us();
		wait_job(res.pidfd);
		double t2 = now_us();
		close(res.pidfd);
		launch[i] = t1 - t0;
		total[i] = t2 - t0;
	}
	qsort(launch, (size_t)n, sizeof(double), cmp_double);
	qsort(total, (size_t)n, sizeof(double), cmp_double);
	printf("%-36s launch p50 %5.0f p90 %5.0f p99 %5.0f | +exit+reap p50 %5.0f p90 %5.0f p99 %5.0f us\n",
	       name, launch[n / 2], launch[n * 9 / 10], launch[n * 99 / 100], total[n / 2],
	       total[n * 9 / 10], total[n * 99 / 100]);
	free(launch);
	free(total);
	close(devnull);
	mount_plan_free(p);
}

static void bench(int n)
{
	if (!have_tiny) {
		printf("no static-true next to this program: build it with make first\n");
		return;
	}
	/* The tiny layer gets the stubs the typical mounts need. */
	char path[PATH_MAX];
	static const char *const dirs[] = { "/proc", "/tmp", "/dev" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", tiny, dirs[i]);
		mkdir_p(path);
	}
	path_join(path, tiny, "/dev/null");
	write_file(path, "", 0644);
	const char *one[] = { tiny };
	const char *two[] = { tiny, upper };
	struct mount_spec typical[] = { M(MOUNT_PROC, "/proc"), M(MOUNT_TMP, "/tmp"),
		                        { .kind = MOUNT_DEVICES, .devices = DEVICE_NULL } };
	struct netns_pool *pool = netns_pool_new(2);
	struct {
		const char *name;
		struct container_desc d;
		enum launch_clone_mode mode;
		struct netns_pool *pool;
	} cases[] = {
		{ "bind root, no mounts, no net", { .layer_dirs = one, .n_layer_dirs = 1,
		  .network = NETWORK_LOCAL }, LAUNCH_CLONE_AUTO, NULL },
		{ "bind root, no mounts, netns", { .layer_dirs = one, .n_layer_dirs = 1 },
		  LAUNCH_CLONE_AUTO, NULL },
		{ "overlay, proc+tmp+null, netns", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3 }, LAUNCH_CLONE_AUTO, NULL },
		{ "overlay, proc+tmp+null, loopback", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK }, LAUNCH_CLONE_AUTO,
		  NULL },
		{ "writable, proc+tmp+null, loopback", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK,
		  .writable_root = true }, LAUNCH_CLONE_AUTO, NULL },
		{ "same, fork-style clone", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK,
		  .writable_root = true }, LAUNCH_CLONE_FORK, NULL },
		{ "overlay, proc+tmp+null, pooled netns", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3 }, LAUNCH_CLONE_AUTO, pool },
		{ "writable, ..., pooled loopback", { .layer_dirs = two, .n_layer_dirs = 2,
		  .mounts = typical, .n_mounts = 3, .network = NETWORK_LOOPBACK,
		  .writable_root = true }, LAUNCH_CLONE_AUTO, pool },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		container_launch_set_clone_mode(cases[i].mode);
		bench_one(cases[i].name, &cases[i].d, n, cases[i].pool);
	}
	/* Grow to 64 MiB touched and compare the two clone styles. */
	size_t big = 64u << 20;
	char *ballast = malloc(big);
	memset(ballast, 1, big);
	container_launch_set_clone_mode(LAUNCH_CLONE_VM);
	bench_one("64 MiB RSS, vfork-style", &cases[4].d, n, NULL);
	bench_one("64 MiB RSS, vfork-style, pooled", &cases[4].d, n, pool);
	container_launch_set_clone_mode(LAUNCH_CLONE_FORK);
	bench_one("64 MiB RSS, fork-style", &cases[4].d, n, NULL);
	container_launch_set_clone_mode(LAUNCH_CLONE_AUTO);
	free(ballast);
	netns_pool_free(pool);
}

int main(void)
{
	const char *b = getenv("LAUNCH_BENCH");
	if (b && atoi(b) > 0) {
		group_setup(NULL);
		bench(atoi(b));
		group_teardown(NULL);
		return 0;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_reuses_namespaces),
		cmocka_unit_test(test_pool_busy_slot_and_limit),
		cmocka_unit_test(test_pool_job_cannot_reconfigure_network),
		cmocka_unit_test(test_pool_not_used_for_sys_or_local),
		cmocka_unit_test(test_pool_failure_and_kill),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
