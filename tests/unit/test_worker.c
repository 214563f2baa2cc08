/*
 * test_worker: the cluster worker (net/worker/worker.h) against a fake
 * broker written here with net/conn (a listener plus conns): the hello,
 * jobs run in real containers on busybox layers, layer fetches over the
 * ARTIFACT_FETCH protocol (deduplicated across jobs), fetch failures,
 * cancel, invalid jobs, refusal, losing the broker (jobs killed, then a
 * reconnect) and reaching a broker that was not up yet.
 *
 * The group setup builds the layers once with artifacts/layer_build.h into
 * a "client" store: /bin/busybox, symlinks to it (/bin/sh, sleep, echo, cat)
 * and stub directories. Every test makes its own reactor, fake broker,
 * worker store (seeded with the layers or empty) and worker. Must pass as
 * root and as an unprivileged user.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/extract.h"
#include "artifacts/layer_build.h"
#include "artifacts/store.h"
#include "core/log.h"
#include "core/reactor.h"
#include "net/conn.h"
#include "net/msg.h"
#include "net/worker/worker.h"

#define N_LAYERS 3
#define MAX_SEEN 16
#define DEADLINE_NS (60ull * 1000000000ull) /* a hang guard, not a timing check */

static char *tmp_root;
static struct digest layers[N_LAYERS];
static char *blob_paths[N_LAYERS];
static unsigned test_serial;

/* ---- the layers -------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	if (asprintf(&tmp_root, "%s/test-worker-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 ||
	    !mkdtemp(tmp_root))
		return -1;
	chmod(tmp_root, 0755);
	char *root = NULL;
	if (asprintf(&root, "%s/client-store", tmp_root) < 0)
		return -1;
	struct store *s = NULL;
	struct layer_builder *b = NULL;
	struct err *err = NULL;
	int rc = -1;
	if (store_open(&s, root, 1ull << 30, &err) < 0 ||
	    layer_builder_new(&b, s, tmp_root, &err) < 0)
		goto out;
	char *bb[] = {"/bin/busybox"};
	struct symlink_spec links[] = {
		{"/bin/sh", "busybox"}, {"/bin/sleep", "busybox"},
		{"/bin/echo", "busybox"}, {"/bin/cat", "busybox"},
	};
	char *stubs[] = {"/{proc,sys,tmp,dev}/"};
	struct layer_spec specs[N_LAYERS] = {
		{.kind = LAYER_PATHS, .paths = bb, .n_paths = 1},
		{.kind = LAYER_SYMLINKS, .symlinks = links, .n_symlinks = sizeof(links) / sizeof(links[0])},
		{.kind = LAYER_STUBS, .paths = stubs, .n_paths = 1},
	};
	for (size_t i = 0; i < N_LAYERS; i++) {
		if (layer_build(b, &specs[i], &layers[i], &err) < 0)
			goto out;
		blob_paths[i] = store_blob_path(s, &layers[i]);
		if (!blob_paths[i])
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "group setup: %s\n", err_msg(err));
	err_free(&err);
	/* The blobs stay on disk after the store is closed. */
	layer_builder_free(b);
	store_free(s);
	free(root);
	return rc;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_LAYERS; i++)
		free(blob_paths[i]);
	struct err *err = NULL;
	if (tmp_root && extract_remove_tree(AT_FDCWD, tmp_root, &err) < 0)
		fprintf(stderr, "group teardown: %s\n", err_msg(err));
	err_free(&err);
	free(tmp_root);
	return 0;
}

/* ---- the fake broker ------------------------------------------------------------ */

struct fake;

struct fake_conn {
	struct fake *fb;
	struct conn *c;
	Maelstrom__Role role;      /* from its Hello; ROLE_UNKNOWN before */
	bool open;
};

struct seen_result {
	uint64_t id;
	struct job_result res;
	char *worker;
};

struct fake {
	struct reactor *r;
	struct listener *l;
	uint16_t port;
	struct fake_conn *conns[32];
	size_t n_conns;
	struct fake_conn *session;   /* the worker's current session */

	/* behaviour */
	bool refuse;                 /* answer the worker's Hello with a refusal */
	bool lack_artifacts;         /* answer fetches with found = false */
	bool hold_fetches;           /* never answer fetches */

	/* what the worker said */
	unsigned worker_hellos;
	uint32_t hello_slots;
	char *hello_name;
	unsigned fetches[N_LAYERS];
	unsigned fetch_hellos;
	uint64_t started[MAX_SEEN];
	size_t n_started;
	struct seen_result results[MAX_SEEN];
	size_t n_results;
	unsigned other_messages;
};

static void fake_send(struct conn *c, msg_t *m)
{
	conn_send(c, m);
}

static void fake_hello_reply(struct fake_conn *fc, bool accepted, const char *why)
{
	Maelstrom__HelloReply hr = MAELSTROM__HELLO_REPLY__INIT;
	hr.accepted = accepted;
	hr.message = (char *)(why ? why : "");
	hr.protocol_version = PROTOCOL_VERSION;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	m.hello_reply = &hr;
	fake_send(fc->c, &m);
}

static void fake_on_hello(struct fake_conn *fc, const Maelstrom__Hello *h)
{
	struct fake *fb = fc->fb;
	fc->role = h->role;
	if (h->role == MAELSTROM__ROLE__ROLE_WORKER) {
		fb->worker_hellos++;
		fb->hello_slots = h->slots;
		free(fb->hello_name);
		fb->hello_name = strdup(h->name);
		if (fb->refuse) {
			fake_hello_reply(fc, false, "protocol version 99 required");
			return;
		}
		fb->session = fc;
	} else if (h->role == MAELSTROM__ROLE__ROLE_ARTIFACT_FETCH) {
		fb->fetch_hellos++;
	}
	fake_hello_reply(fc, true, NULL);
}

static void fake_on_fetch(struct fake_conn *fc, const Maelstrom__FetchArtifact *fa)
{
	struct fake *fb = fc->fb;
	struct digest d;
	assert_int_equal(msg_digest_get(fa->digest, &d, NULL), 0);
	int which = -1;
	for (int i = 0; i < N_LAYERS; i++)
		if (digest_equal(&d, &layers[i]))
			which = i;
	assert_true(which >= 0);
	fb->fetches[which]++;
	if (fb->hold_fetches)
		return;
	Maelstrom__ArtifactHeader ah = MAELSTROM__ARTIFACT_HEADER__INIT;
	ah.digest = msg_digest(&d);
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER;
	m.artifact_header = &ah;
	if (fb->lack_artifacts) {
		ah.found = false;
		fake_send(fc->c, &m);
		return;
	}
	int fd = open(blob_paths[which], O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	ah.found = true;
	ah.size = (uint64_t)st.st_size;
	fake_send(fc->c, &m);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		conn_send_raw(fc->c, buf, (size_t)n);
	assert_int_equal(n, 0);
	close(fd);
}

static void fake_on_message(struct conn *c, msg_t *m, void *arg)
{
	struct fake_conn *fc = arg;
	(void)c;
	if (!fc) {
		msg_free(m);
		return;
	}
	struct fake *fb = fc->fb;
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO) {
		fake_on_hello(fc, m->hello);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT) {
		fake_on_fetch(fc, m->fetch_artifact);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_JOB_STARTED) {
		assert_true(fb->n_started < MAX_SEEN);
		fb->started[fb->n_started++] = m->job_started->job_id;
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_JOB_RESULT) {
		assert_true(fb->n_results < MAX_SEEN);
		struct seen_result *s = &fb->results[fb->n_results++];
		s->id = m->job_result->job_id;
		msg_job_result_to(m->job_result, &s->res);
		s->worker = strdup(m->job_result->worker);
	} else {
		fb->other_messages++;
	}
	msg_free(m);
}

static void fake_on_close(struct conn *c, const char *reason, void *arg)
{
	struct fake_conn *fc = arg;
	(void)c;
	(void)reason;
	if (!fc)
		return;
	fc->open = false;
	fc->c = NULL;
	if (fc->fb->session == fc)
		fc->fb->session = NULL;
}

static const struct conn_ops fake_ops = {
	.on_message = fake_on_message,
	.on_close = fake_on_close,
};

static void fake_on_accept(struct listener *l, int fd, const char *peer, void *arg)
{
	struct fake *fb = arg;
	(void)l;
	(void)peer;
	assert_true(fb->n_conns < sizeof(fb->conns) / sizeof(fb->conns[0]));
	struct fake_conn *fc = calloc(1, sizeof(*fc));
	assert_non_null(fc);
	fc->fb = fb;
	fc->open = true;
	fb->conns[fb->n_conns++] = fc;
	fc->c = conn_new(fb->r, fd, &fake_ops, fc);
	assert_non_null(fc->c);
}

static void fake_listen(struct fake *fb, uint16_t port)
{
	struct err *err = NULL;
	fb->l = listener_new(fb->r, port, fake_on_accept, fb, &err);
	if (!fb->l)
		fail_msg("listener: %s", err_msg(err));
	fb->port = listener_port(fb->l);
}

/* Closes every connection, like a broker that died. */
static void fake_drop_all(struct fake *fb)
{
	for (size_t i = 0; i < fb->n_conns; i++)
		if (fb->conns[i]->open)
			conn_close(fb->conns[i]->c, false, "fake broker went away");
}

static void fake_enqueue(struct fake *fb, uint64_t id, const char *script)
{
	assert_non_null(fb->session);
	const char *args[] = {"-c", script};
	const char *env[] = {"PATH=/bin", NULL};
	struct worker_job job = {
		.layers = layers,
		.n_layers = N_LAYERS,
		.network = NETWORK_DISABLED,
		.program = "/bin/sh",
		.arguments = args,
		.n_arguments = 2,
		.envp = env,
	};
	Maelstrom__ResolvedJob *rj = msg_resolved_job_new(&job);
	Maelstrom__EnqueueJob ej = MAELSTROM__ENQUEUE_JOB__INIT;
	ej.job_id = id;
	ej.job = rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB;
	m.enqueue_job = &ej;
	fake_send(fb->session->c, &m);
	msg_resolved_job_free(rj);
}

static void fake_cancel(struct fake *fb, uint64_t id)
{
	Maelstrom__CancelJob cj = MAELSTROM__CANCEL_JOB__INIT;
	cj.job_id = id;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
	m.cancel_job = &cj;
	fake_send(fb->session->c, &m);
}

static const struct seen_result *fake_result(const struct fake *fb, uint64_t id)
{
	for (size_t i = 0; i < fb->n_results; i++)
		if (fb->results[i].id == id)
			return &fb->results[i];
	return NULL;
}

static bool fake_started(const struct fake *fb, uint64_t id)
{
	for (size_t i = 0; i < fb->n_started; i++)
		if (fb->started[i] == id)
			return true;
	return false;
}

static void fake_release(struct fake *fb)
{
	/* on_close runs after this round: detach the conns from what is freed. */
	for (size_t i = 0; i < fb->n_conns; i++) {
		if (!fb->conns[i]->open)
			continue;
		conn_set_arg(fb->conns[i]->c, NULL);
		conn_close(fb->conns[i]->c, false, "test over");
	}
	listener_free(fb->l);
	for (size_t i = 0; i < fb->n_conns; i++)
		free(fb->conns[i]);
	for (size_t i = 0; i < fb->n_results; i++) {
		job_result_release(&fb->results[i].res);
		free(fb->results[i].worker);
	}
	free(fb->hello_name);
}

/* ---- one test's world ---------------------------------------------------------------- */

struct world {
	struct reactor *r;
	struct fake fb;
	char *dir;
	struct store *store;
	struct worker *w;
	char *fatal;               /* on_fatal's message */
	unsigned fatal_calls;
};

static void on_fatal(void *arg, const char *message)
{
	struct world *wd = arg;
	wd->fatal_calls++;
	free(wd->fatal);
	wd->fatal = strdup(message);
}

static void world_init_sized(struct world *wd, bool seed, uint64_t cache_size)
{
	memset(wd, 0, sizeof(*wd));
	struct err *err = NULL;
	if (reactor_new(&wd->r, 0, &err) < 0)
		fail_msg("reactor: %s", err_msg(err));
	wd->fb.r = wd->r;
	if (asprintf(&wd->dir, "%s/worker-%u/artifacts", tmp_root, ++test_serial) < 0)
		abort();
	if (store_open(&wd->store, wd->dir, cache_size, &err) < 0)
		fail_msg("store: %s", err_msg(err));
	for (size_t i = 0; seed && i < N_LAYERS; i++) {
		struct digest d;
		if (store_add_path(wd->store, blob_paths[i], &d, &err) < 0)
			fail_msg("seeding: %s", err_msg(err));
		assert_true(digest_equal(&d, &layers[i]));
	}
}

static void world_init(struct world *wd, bool seed)
{
	world_init_sized(wd, seed, 1ull << 30);
}

static void world_start(struct world *wd, uint16_t port, const char *name)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	struct worker_config cfg = {
		.broker = addr,
		.name = name,
		.exec = {.slots = 2, .inline_limit = 4096},
		.on_fatal = on_fatal,
		.arg = wd,
	};
	struct err *err = NULL;
	if (worker_new(&wd->w, wd->r, wd->store, &cfg, &err) < 0)
		fail_msg("worker: %s", err_msg(err));
	worker_start(wd->w);
}

static void world_release(struct world *wd)
{
	worker_free(wd->w);
	fake_release(&wd->fb);
	/* Let the reactor finish what is left (closing conns, reaping killed
	 * helpers); it returns once nothing could produce an event. */
	struct err *err = NULL;
	if (reactor_run(wd->r, &err) < 0)
		fail_msg("reactor: %s", err_msg(err));
	store_free(wd->store);
	reactor_free(wd->r);
	free(wd->fatal);
	free(wd->dir);
}

/* The world of the test running now; released by world_teardown even
 * when the test failed half-way. */
static struct world world;

static int world_teardown(void **state)
{
	(void)state;
	if (world.r)
		world_release(&world);
	memset(&world, 0, sizeof(world));
	return 0;
}

/* Runs the reactor until pred(wd) holds; fails after DEADLINE_NS (a guard
 * against hangs, far beyond what any step needs). */
struct waiter {
	struct world *wd;
	bool (*pred)(struct world *wd);
	uint64_t deadline;
	bool timed_out;
};

static void waiter_tick(struct reactor *r, void *arg)
{
	struct waiter *wt = arg;
	if (wt->pred(wt->wd)) {
		reactor_stop(r);
		return;
	}
	if (reactor_now_ns() > wt->deadline) {
		wt->timed_out = true;
		reactor_stop(r);
		return;
	}
	reactor_timer_add(r, 5000000, waiter_tick, wt);
}

static void run_until(struct world *wd, bool (*pred)(struct world *wd), const char *what)
{
	struct waiter wt = {wd, pred, reactor_now_ns() + DEADLINE_NS, false};
	if (pred(wd))
		return;
	uint64_t t = reactor_timer_add(wd->r, 5000000, waiter_tick, &wt);
	struct err *err = NULL;
	if (reactor_run(wd->r, &err) < 0)
		fail_msg("reactor: %s", err_msg(err));
	reactor_timer_cancel(wd->r, t);
	if (wt.timed_out)
		fail_msg("gave up waiting for %s", what);
}

static bool connected(struct world *wd)
{
	return wd->fb.session && worker_connected(wd->w);
}

static uint64_t wanted_id;

static bool wanted_result(struct world *wd)
{
	return fake_result(&wd->fb, wanted_id) != NULL;
}

static const struct seen_result *wait_result(struct world *wd, uint64_t id)
{
	wanted_id = id;
	run_until(wd, wanted_result, "a job result");
	return fake_result(&wd->fb, id);
}

/* Runs the reactor for about ms milliseconds. */
static void on_pause_over(struct reactor *r, void *arg)
{
	(void)arg;
	reactor_stop(r);
}

static void run_for_ms(struct world *wd, uint64_t ms)
{
	uint64_t t = reactor_timer_add(wd->r, ms * 1000000, on_pause_over, NULL);
	struct err *err = NULL;
	if (reactor_run(wd->r, &err) < 0)
		fail_msg("reactor: %s", err_msg(err));
	reactor_timer_cancel(wd->r, t);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_hello_and_job(void **state)
{
	(void)state;
	world_init(&world, true);
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, NULL);
	run_until(&world, connected, "the worker's hello");
	assert_int_equal(world.fb.worker_hellos, 1);
	assert_int_equal(world.fb.hello_slots, 2);
	/* Default name: hostname:pid. */
	char host[256], want[300];
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want), "%s:%ld", host, (long)getpid());
	assert_string_equal(world.fb.hello_name, want);
	assert_string_equal(worker_name(world.w), want);

	fake_enqueue(&world.fb, 42, "echo hello; echo oops >&2; exit 3");
	const struct seen_result *s = wait_result(&world, 42);
	assert_true(fake_started(&world.fb, 42));
	if (s->res.outcome != JOB_EXITED)
		fail_msg("outcome %s: %s", job_outcome_name(s->res.outcome),
			 s->res.message ? s->res.message : "");
	assert_int_equal(s->res.code, 3);
	assert_int_equal(s->res.out.len, 6);
	assert_memory_equal(s->res.out.data, "hello\n", 6);
	assert_int_equal(s->res.err.len, 5);
	assert_memory_equal(s->res.err.data, "oops\n", 5);
	assert_string_equal(s->worker, want);
	/* Layers were in the store: nothing fetched. */
	for (int i = 0; i < N_LAYERS; i++)
		assert_int_equal(world.fb.fetches[i], 0);
	assert_int_equal(worker_jobs(world.w), 0);
	assert_int_equal(world.fb.other_messages, 0);
}

static bool two_results(struct world *wd)
{
	return wd->fb.n_results >= 2;
}

static void test_fetch_once_for_two_jobs(void **state)
{
	(void)state;
	world_init(&world, false);
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	fake_enqueue(&world.fb, 1, "echo one");
	fake_enqueue(&world.fb, 2, "cat /proc/self/status >/dev/null 2>&1; echo two");
	run_until(&world, two_results, "two results");
	const struct seen_result *a = fake_result(&world.fb, 1), *b = fake_result(&world.fb, 2);
	assert_non_null(a);
	assert_non_null(b);
	if (a->res.outcome != JOB_EXITED || b->res.outcome != JOB_EXITED)
		fail_msg("outcomes %s (%s), %s (%s)", job_outcome_name(a->res.outcome),
			 a->res.message ? a->res.message : "", job_outcome_name(b->res.outcome),
			 b->res.message ? b->res.message : "");
	assert_int_equal(a->res.out.len, 4);
	assert_memory_equal(a->res.out.data, "one\n", 4);
	assert_int_equal(b->res.out.len, 4);
	assert_memory_equal(b->res.out.data, "two\n", 4);
	assert_string_equal(a->worker, "w1");
	/* On ARTIFACT_FETCH connections, one fetch per layer although two
	 * jobs needed each. */
	assert_true(world.fb.fetch_hellos >= 1);
	for (int i = 0; i < N_LAYERS; i++) {
		assert_int_equal(world.fb.fetches[i], 1);
		assert_true(store_has(world.store, &layers[i]));
	}
}

static void test_fetch_failure(void **state)
{
	(void)state;
	world_init(&world, false);
	world.fb.lack_artifacts = true;
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	fake_enqueue(&world.fb, 7, "echo never");
	const struct seen_result *s = wait_result(&world, 7);
	assert_int_equal(s->res.outcome, JOB_SYSTEM_ERROR);
	assert_non_null(s->res.message);
	char hex[DIGEST_HEX_LEN + 1];
	bool names_a_layer = false;
	for (int i = 0; i < N_LAYERS; i++) {
		digest_to_hex(&layers[i], hex);
		names_a_layer |= strstr(s->res.message, hex) != NULL;
	}
	if (!names_a_layer)
		fail_msg("message names no layer: %s", s->res.message);
	assert_false(fake_started(&world.fb, 7));
	assert_int_equal(worker_jobs(world.w), 0);
}

static void test_invalid_job(void **state)
{
	(void)state;
	world_init(&world, true);
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	/* A bind mount would reach into the worker's machine. */
	const char *env[] = {NULL};
	struct mount_spec mount = {
		.kind = MOUNT_BIND, .mount_point = "/mnt", .local_path = "/etc",
	};
	struct worker_job job = {
		.layers = layers, .n_layers = N_LAYERS, .mounts = &mount, .n_mounts = 1,
		.program = "/bin/sh", .envp = env,
	};
	Maelstrom__ResolvedJob *rj = msg_resolved_job_new(&job);
	Maelstrom__EnqueueJob ej = MAELSTROM__ENQUEUE_JOB__INIT;
	ej.job_id = 5;
	ej.job = rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB;
	m.enqueue_job = &ej;
	conn_send(world.fb.session->c, &m);
	msg_resolved_job_free(rj);
	const struct seen_result *s = wait_result(&world, 5);
	assert_int_equal(s->res.outcome, JOB_EXECUTION_ERROR);
	assert_non_null(strstr(s->res.message, "bind"));
	assert_false(fake_started(&world.fb, 5));
}

static bool cache_trimmed(struct world *wd)
{
	for (int i = 0; i < N_LAYERS; i++)
		if (store_has(wd->store, &layers[i]))
			return false;
	return true;
}

/* A cache of one byte keeps nothing once jobs are done: the layers go, and
 * the next job fetches them again and runs on freshly extracted trees. */
static void test_trim_after_jobs(void **state)
{
	(void)state;
	world_init_sized(&world, true, 1);
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	fake_enqueue(&world.fb, 1, "echo first");
	const struct seen_result *s = wait_result(&world, 1);
	assert_int_equal(s->res.outcome, JOB_EXITED);
	run_until(&world, cache_trimmed, "the cache trim");
	assert_int_equal(store_bytes_used(world.store), 0);
	fake_enqueue(&world.fb, 2, "echo second");
	s = wait_result(&world, 2);
	if (s->res.outcome != JOB_EXITED)
		fail_msg("outcome %s: %s", job_outcome_name(s->res.outcome),
			 s->res.message ? s->res.message : "");
	assert_int_equal(s->res.out.len, 7);
	assert_memory_equal(s->res.out.data, "second\n", 7);
	for (int i = 0; i < N_LAYERS; i++)
		assert_int_equal(world.fb.fetches[i], 1);
}

static bool fatal_called(struct world *wd)
{
	return wd->fatal_calls > 0;
}

static void test_refused(void **state)
{
	(void)state;
	world_init(&world, true);
	world.fb.refuse = true;
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, fatal_called, "the refusal");
	assert_int_equal(world.fatal_calls, 1);
	assert_non_null(strstr(world.fatal, "protocol version 99 required"));
	assert_false(worker_connected(world.w));
	assert_int_equal(worker_sessions(world.w), 0);
}

/* ---- losing the broker ------------------------------------------------------------------ */

static char marker[32];

/* Host processes whose command line holds the marker (the job's sleep is
 * visible from here, in its PID namespace's parent). */
static unsigned count_marked(void)
{
	DIR *d = opendir("/proc");
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, marker))
			n++;
	}
	closedir(d);
	return n;
}

static bool marked_running(struct world *wd)
{
	(void)wd;
	return count_marked() > 0;
}

static bool jobs_gone(struct world *wd)
{
	return worker_jobs(wd->w) == 0;
}

static void set_marker(void)
{
	snprintf(marker, sizeof(marker), "%u%06u", (unsigned)getpid(), test_serial);
}

static const char *marked_sleep(void)
{
	static char script[96];
	snprintf(script, sizeof(script), "echo begun; exec sleep %s", marker);
	return script;
}

static void test_cancel_running(void **state)
{
	(void)state;
	world_init(&world, true);
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	set_marker();
	fake_enqueue(&world.fb, 9, marked_sleep());
	run_until(&world, marked_running, "the job's sleep to run");
	assert_true(fake_started(&world.fb, 9));
	fake_cancel(&world.fb, 9);
	const struct seen_result *s = wait_result(&world, 9);
	assert_int_equal(s->res.outcome, JOB_CANCELED);
	assert_int_equal(count_marked(), 0);
	assert_int_equal(worker_jobs(world.w), 0);
}

static bool fetch_asked(struct world *wd)
{
	return wd->fb.fetches[0] > 0;
}

static void test_cancel_while_fetching(void **state)
{
	(void)state;
	world_init(&world, false);
	world.fb.hold_fetches = true;
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	fake_enqueue(&world.fb, 3, "echo never");
	run_until(&world, fetch_asked, "a fetch request");
	fake_cancel(&world.fb, 3);
	const struct seen_result *s = wait_result(&world, 3);
	assert_int_equal(s->res.outcome, JOB_CANCELED);
	assert_false(fake_started(&world.fb, 3));
	assert_int_equal(worker_jobs(world.w), 0);
}

static bool second_session(struct world *wd)
{
	return worker_sessions(wd->w) >= 2 && wd->fb.session;
}

static void test_broker_loss_kills_and_reconnects(void **state)
{
	(void)state;
	world_init(&world, true);
	fake_listen(&world.fb, 0);
	world_start(&world, world.fb.port, "w1");
	run_until(&world, connected, "the worker's hello");
	set_marker();
	fake_enqueue(&world.fb, 11, marked_sleep());
	fake_enqueue(&world.fb, 12, marked_sleep());
	run_until(&world, marked_running, "the jobs' sleep to run");
	fake_drop_all(&world.fb);
	run_until(&world, jobs_gone, "the jobs to be killed");
	assert_int_equal(count_marked(), 0);
	run_until(&world, second_session, "the reconnect");
	assert_int_equal(world.fb.worker_hellos, 2);
	/* Results of killed jobs are not sent (the broker requeues them). */
	assert_null(fake_result(&world.fb, 11));
	assert_null(fake_result(&world.fb, 12));
	/* The new session works. */
	fake_enqueue(&world.fb, 11, "echo again");
	const struct seen_result *s = wait_result(&world, 11);
	assert_int_equal(s->res.outcome, JOB_EXITED);
	assert_int_equal(s->res.out.len, 6);
	assert_memory_equal(s->res.out.data, "again\n", 6);
}

/* The broker is not up when the worker starts: it keeps retrying. */
static void test_broker_late(void **state)
{
	(void)state;
	world_init(&world, true);
	/* Find a free port, then stop listening on it. */
	fake_listen(&world.fb, 0);
	uint16_t port = world.fb.port;
	listener_free(world.fb.l);
	world.fb.l = NULL;
	world_start(&world, port, "w1");
	/* The first attempt is refused; the worker retries in 0.5 s. */
	run_for_ms(&world, 100);
	assert_false(worker_connected(world.w));
	fake_listen(&world.fb, port);
	run_until(&world, connected, "the worker's hello");
	assert_int_equal(worker_sessions(world.w), 1);
}

int main(void)
{
	log_set_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_hello_and_job, world_teardown),
		cmocka_unit_test_teardown(test_fetch_once_for_two_jobs, world_teardown),
		cmocka_unit_test_teardown(test_fetch_failure, world_teardown),
		cmocka_unit_test_teardown(test_cancel_running, world_teardown),
		cmocka_unit_test_teardown(test_cancel_while_fetching, world_teardown),
		cmocka_unit_test_teardown(test_invalid_job, world_teardown),
		cmocka_unit_test_teardown(test_trim_after_jobs, world_teardown),
		cmocka_unit_test_teardown(test_refused, world_teardown),
		cmocka_unit_test_teardown(test_broker_loss_kills_and_reconnects, world_teardown),
		cmocka_unit_test_teardown(test_broker_late, world_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
