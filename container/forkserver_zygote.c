/*
 * forkserver_zygote.c: one warm zygote: launching it, its socket (requests
 * out, messages in), its output, its timers, and its state machine. See
 * container/forkserver_zygote.h and container/forkserver_pool.h.
 */
#include "container/forkserver_zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/forkserver.h"
#include "container/forkserver_msg.h"
#include "container/launch.h"
#include "core/buf.h"
#include "core/list.h"
#include "core/log.h"

_Static_assert(FORKSERVER_FD == LAUNCH_EXTRA_FD, "the zygote's socket is the launcher's extra fd");

/* Messages handled per readable event: one chatty zygote cannot starve the
 * others (the reactor is level-triggered and comes back). */
#define RECV_BUDGET 64
/* How long a zygote that closed its socket has to exit before that counts
 * as its problem (so that the message can say how it exited). */
#define HANGUP_GRACE_NS (NS_PER_S / 2)
/* Bytes of a zygote's output read per readable event. */
#define OUTPUT_BUDGET (64u << 10)

/* ---- facts ------------------------------------------------------------- */

/* Records the first problem (later ones are consequences). */
static void zygote_problem(struct zygote *z, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void zygote_problem(struct zygote *z, const char *fmt, ...)
{
	if (z->problem)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&z->problem, fmt, ap) < 0)
		abort(); /* out of memory */
	va_end(ap);
}

/* Records how the zygote ended as the problem, unless the pool was
 * stopping it anyway. */
static void zygote_exit_problem(struct zygote *z)
{
	if (z->stop != ZSTOP_NONE || z->state == ZS_STOPPING || z->problem)
		return;
	z->exit_is_problem = true;
	if (z->status.code < 0)
		zygote_problem(z, "ended, and how is unknown");
	else if (z->status.signaled)
		zygote_problem(z, "was killed by signal %d (%s)", z->status.code,
			       strsignal(z->status.code));
	else
		zygote_problem(z, "exited with status %d", z->status.code);
}

static void tail_add(struct zygote *z, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t pos = (z->tail_start + z->tail_len) % sizeof(z->tail);
		z->tail[pos] = data[i];
		if (z->tail_len < sizeof(z->tail))
			z->tail_len++;
		else
			z->tail_start = (z->tail_start + 1) % sizeof(z->tail);
	}
}

/* The tail as indented lines ("    | ..."), or "" when there was none. */
static char *tail_text(const struct zygote *z)
{
	struct buf b;
	buf_init(&b);
	bool line_start = true;
	size_t end = z->tail_len;
	while (end > 0 && z->tail[(z->tail_start + end - 1) % sizeof(z->tail)] == '\n')
		end--;
	for (size_t i = 0; i < end; i++) {
		char c = z->tail[(z->tail_start + i) % sizeof(z->tail)];
		if (line_start)
			buf_append(&b, "\n    | ", 7);
		line_start = c == '\n';
		if (c == '\n')
			continue;
		if ((unsigned char)c < 0x20 && c != '\t')
			c = '?';
		buf_append(&b, &c, 1);
	}
	return buf_detach(&b, NULL);
}

/* ---- jobs of a zygote ------------------------------------------------------ */

static struct job *job_by_id(struct zygote *z, uint64_t id)
{
	for (struct job *j = z->pool->ex->active.head; j; j = j->next)
		if (j->zygote == z && j->id == id)
			return j;
	return NULL;
}

/* The first attached job (in slot order) in phase `phase`. */
static struct job *job_in_phase(struct zygote *z, enum warm_phase phase)
{
	for (struct job *j = z->pool->ex->active.head; j; j = j->next)
		if (j->zygote == z && j->warm == phase)
			return j;
	return NULL;
}

static struct job *job_any(struct zygote *z)
{
	for (struct job *j = z->pool->ex->active.head; j; j = j->next)
		if (j->zygote == z)
			return j;
	return NULL;
}

static void on_idle(struct reactor *r, void *arg);

/* Arms the idle timer of a ready zygote that has no job. */
static void zygote_check_idle(struct zygote *z)
{
	if (z->state == ZS_READY && z->n_jobs == 0 && !z->idle_timer)
		z->idle_timer = reactor_timer_add(z->pool->ex->r, z->pool->idle_ns, on_idle, z);
}

void zygote_detach(struct zygote *z, struct job *j)
{
	j->zygote = NULL;
	j->warm = WARM_NONE;
	z->n_jobs--;
	zygote_check_idle(z);
}

/* ---- reactor registrations ----------------------------------------------- */

static void zygote_close_output(struct zygote *z, int *fd)
{
	if (*fd < 0)
		return;
	reactor_del_fd(z->pool->ex->r, *fd);
	close(*fd);
	*fd = -1;
}

/* Reads what fd holds into the tail. Returns true at its end. */
static bool zygote_read_output(struct zygote *z, int fd)
{
	char chunk[4096];
	size_t budget = OUTPUT_BUDGET;
	while (budget > 0) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			tail_add(z, chunk, (size_t)n);
			budget -= (size_t)n < budget ? (size_t)n : budget;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		}
	}
	return false;
}

static void on_output(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)events;
	struct zygote *z = arg;
	if (zygote_read_output(z, fd))
		zygote_close_output(z, fd == z->out_fd ? &z->out_fd : &z->err_fd);
}

static void zygote_want_write(struct zygote *z, bool on)
{
	if (z->sock < 0 || z->want_write == on)
		return;
	struct err *e = NULL;
	if (reactor_mod_fd(z->pool->ex->r, z->sock, EPOLLIN | (on ? EPOLLOUT : 0), &e) < 0) {
		zygote_problem(z, "cannot watch its socket: %s", err_msg(e));
		err_free(&e);
		forkserver_pool_kick(z->pool);   /* acted upon after this round */
		return;
	}
	z->want_write = on;
}

static void zygote_cancel_timers(struct zygote *z)
{
	struct reactor *r = z->pool->ex->r;
	reactor_timer_cancel(r, z->ready_timer);
	reactor_timer_cancel(r, z->idle_timer);
	reactor_timer_cancel(r, z->reply_timer);
	reactor_timer_cancel(r, z->hangup_timer);
	z->ready_timer = z->idle_timer = z->reply_timer = z->hangup_timer = 0;
}

static void zygote_close_socket(struct zygote *z)
{
	if (z->sock < 0)
		return;
	reactor_del_fd(z->pool->ex->r, z->sock);
	close(z->sock);
	z->sock = -1;
	z->want_write = false;
}

/* ---- sending requests ------------------------------------------------------ */

static void on_reply_timeout(struct reactor *r, void *arg);

static void zygote_arm_reply_timer(struct zygote *z)
{
	if (z->reply_timer)
		return;
	struct job *oldest = NULL;
	for (struct job *j = z->pool->ex->active.head; j; j = j->next)
		if (j->zygote == z && j->warm == WARM_SENT &&
		    (!oldest || j->warm_sent_ns < oldest->warm_sent_ns))
			oldest = j;
	if (!oldest)
		return;
	uint64_t now = reactor_now_ns(), due = oldest->warm_sent_ns + z->pool->ready_ns;
	z->reply_timer = reactor_timer_add(z->pool->ex->r, due > now ? due - now : 0,
					   on_reply_timeout, z);
}

/* Sends one request; returns false when the socket is full. */
static bool zygote_send(struct zygote *z, struct job *j)
{
	struct fs_request rq = {
		.job = j->id,
		.program = j->spec.program,
		.argv = j->spec.argv,
		.envp = j->spec.envp,
		.cwd = j->spec.working_directory,
		.network = j->spec.container.network,
	};
	struct err *e = NULL;
	size_t len = 0;
	char *text = fs_request_encode(&rq, &len, &e);
	bool encoded = text != NULL;
	int ret = encoded ? fs_send(z->sock, text, len, j->wfd, 2) : -EINVAL;
	free(text);
	if (ret == -EAGAIN)
		return false;
	if (!encoded || ret == -EMSGSIZE) {
		log_debug("fork server %s: job %" PRIu64 " cannot go through it (%s); "
			  "launching it cold", z->title, j->id,
			  e ? err_msg(e) : "the request does not fit in its socket");
		err_free(&e);
		zygote_detach(z, j);
		job_warm_fallback(j);
		return true;
	}
	if (ret < 0) {
		zygote_problem(z, "cannot send it a request: %s", strerror(-ret));
		return true;
	}
	j->warm = WARM_SENT;
	j->warm_sent_ns = reactor_now_ns();
	job_warm_sent(j);
	zygote_arm_reply_timer(z);
	return true;
}

/* Sends every waiting request the socket takes. */
static void zygote_flush(struct zygote *z)
{
	struct job *j;
	while (z->state == ZS_READY && !z->problem && z->sock >= 0 &&
	       (j = job_in_phase(z, WARM_TO_SEND))) {
		if (!zygote_send(z, j)) {
			zygote_want_write(z, true);
			return;
		}
	}
	zygote_want_write(z, false);
}

/* ---- receiving --------------------------------------------------------------- */

static void zygote_job_msg(struct zygote *z, const struct fs_msg *m, int *fd)
{
	const char *kind = fs_msg_kind_name(m->kind);
	struct job *j = job_by_id(z, m->job);
	enum warm_phase want = m->kind == FS_MSG_EXIT || m->kind == FS_MSG_SIGNAL ? WARM_RUNNING
									       : WARM_SENT;
	if (!j || j->warm != want) {
		zygote_problem(z, "sent \"%s\" for job %" PRIu64 ", which %s", kind, m->job,
			       j ? "is not at that stage" : "it does not run");
		if (*fd >= 0)
			container_kill(*fd);   /* a process nobody waits for */
		return;
	}
	switch (m->kind) {
	case FS_MSG_PID:
		j->warm = WARM_RUNNING;
		z->pool->stats.warm_jobs++;
		job_warm_running(j, *fd);
		*fd = -1;
		break;
	case FS_MSG_REFUSED:
		log_debug("fork server %s refused job %" PRIu64 " (%s); launching it cold",
			  z->title, j->id, m->text);
		zygote_detach(z, j);
		job_warm_fallback(j);
		break;
	case FS_MSG_EXIT:
	case FS_MSG_SIGNAL:
		j->warm = WARM_ENDED;
		job_warm_ended(j, (struct child_status){ .signaled = m->kind == FS_MSG_SIGNAL,
							 .code = m->value });
		break;
	case FS_MSG_NONE:
	case FS_MSG_READY:
	case FS_MSG_ERROR:
		break;
	}
}

static void zygote_handle(struct zygote *z, const char *data, size_t len, int *fds, size_t nfds)
{
	struct fs_msg m;
	struct err *e = NULL;
	int fd = -1;
	if (fs_msg_parse(data, len, &m, &e) < 0) {
		zygote_problem(z, "sent a message that is not the protocol's: %s", err_msg(e));
		err_free(&e);
	} else if (m.kind == FS_MSG_PID && nfds != 1) {
		zygote_problem(z, "sent the pid of job %" PRIu64 " with %zu fds instead of its pidfd",
			       m.job, nfds);
	} else {
		if (m.kind == FS_MSG_PID) {
			fd = fds[0];
			nfds = 0;
		}
		switch (m.kind) {
		case FS_MSG_NONE:
			break;
		case FS_MSG_READY:
			z->ready = true;   /* a second one changes nothing */
			break;
		case FS_MSG_ERROR:
			zygote_problem(z, "reported an error: %s", m.text);
			break;
		case FS_MSG_PID:
		case FS_MSG_REFUSED:
		case FS_MSG_EXIT:
		case FS_MSG_SIGNAL:
			if (z->state != ZS_READY || !z->ready)
				zygote_problem(z, "sent \"%s\" before it was ready",
					       fs_msg_kind_name(m.kind));
			else
				zygote_job_msg(z, &m, &fd);
			break;
		}
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	if (fd >= 0)
		close(fd);
	fs_msg_release(&m);
}

static void on_hangup_grace(struct reactor *r, void *arg)
{
	(void)r;
	struct zygote *z = arg;
	z->hangup_timer = 0;
	zygote_problem(z, "closed its socket (fd %d) but kept running", FORKSERVER_FD);
	zygote_advance(z);
}

/* The zygote closed its socket: usually it is exiting, and how it exits
 * says more than the hang-up, so give it a moment before calling that the
 * problem. Nothing more can be sent or received meanwhile. */
static void zygote_hung_up(struct zygote *z)
{
	zygote_close_socket(z);
	if (!z->hangup_timer)
		z->hangup_timer = reactor_timer_add(z->pool->ex->r, HANGUP_GRACE_NS,
						    on_hangup_grace, z);
}

static void zygote_receive(struct zygote *z)
{
	for (int i = 0; i < RECV_BUDGET && z->sock >= 0 && !z->problem; i++) {
		int fds[FS_MAX_FDS];
		size_t nfds = 0;
		ssize_t n = fs_recv(z->sock, z->pool->rbuf, FORKSERVER_MAX_MSG, fds, &nfds);
		if (n == -EAGAIN)
			break;
		if ((n == 0 || n == -ECONNRESET) && z->exited)
			zygote_exit_problem(z);
		else if (n == 0 || n == -ECONNRESET)
			zygote_hung_up(z);
		else if (n == -EMSGSIZE)
			zygote_problem(z, "sent a message larger than %u bytes or with more than "
				       "%d fds", FORKSERVER_MAX_MSG, FS_MAX_FDS);
		else if (n < 0)
			zygote_problem(z, "cannot read its socket: %s", strerror((int)-n));
		else
			zygote_handle(z, z->pool->rbuf, (size_t)n, fds, nfds);
		/* Each message may change a lot: let the state machine see it. */
		zygote_advance(z);
		if (n <= 0)
			break;   /* -EAGAIN broke out above */
	}
}

static void on_sock(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)fd;
	struct zygote *z = arg;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		zygote_receive(z);
	if ((events & EPOLLOUT) && z->state == ZS_READY)
		zygote_flush(z);
	zygote_advance(z);
}

static void on_pidfd(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct zygote *z = arg;
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	int ret;
	do
		ret = waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG);
	while (ret < 0 && errno == EINTR);
	if (ret == 0 && info.si_pid == 0)
		return; /* not exited yet */
	if (ret == 0)
		z->status = (struct child_status){ .signaled = info.si_code != CLD_EXITED,
						   .code = info.si_status };
	else
		z->status = (struct child_status){ .signaled = false, .code = -1 };
	reactor_del_fd(r, fd);
	close(fd);
	z->pidfd = -1;
	z->exited = true;
	/* What it sent before it died still counts (a job's exit, say). */
	if (z->sock >= 0)
		zygote_receive(z);
	zygote_exit_problem(z);
	zygote_advance(z);
}

static void on_ready_timeout(struct reactor *r, void *arg)
{
	(void)r;
	struct zygote *z = arg;
	z->ready_timer = 0;
	zygote_problem(z, "was not ready within %" PRIu64 " s", z->pool->ready_ns / NS_PER_S);
	zygote_advance(z);
}

static void on_reply_timeout(struct reactor *r, void *arg)
{
	(void)r;
	struct zygote *z = arg;
	z->reply_timer = 0;
	struct job *late = NULL;
	uint64_t now = reactor_now_ns();
	for (struct job *j = z->pool->ex->active.head; j; j = j->next)
		if (j->zygote == z && j->warm == WARM_SENT &&
		    now - j->warm_sent_ns >= z->pool->ready_ns)
			late = j;
	if (late)
		zygote_problem(z, "did not answer the request for job %" PRIu64 " within %" PRIu64
			       " s", late->id, z->pool->ready_ns / NS_PER_S);
	else
		zygote_arm_reply_timer(z);
	zygote_advance(z);
}

static void on_idle(struct reactor *r, void *arg)
{
	(void)r;
	struct zygote *z = arg;
	z->idle_timer = 0;
	if (z->n_jobs == 0 && z->stop == ZSTOP_NONE)
		z->stop = ZSTOP_IDLE;
	zygote_advance(z);
}

/* ---- the state machine --------------------------------------------------------- */

/* Kills the zygote and lets go of its jobs: those it had not finished
 * run cold (or complete, when the executor had stopped them). */
static void zygote_shut(struct zygote *z)
{
	z->state = ZS_STOPPING;
	zygote_cancel_timers(z);
	zygote_close_socket(z);
	if (z->pidfd >= 0) {
		container_kill(z->pidfd);
		z->killed = true;
	}
	struct job *j;
	while ((j = job_any(z))) {
		bool unfinished = j->warm != WARM_ENDED;
		zygote_detach(z, j);
		if (unfinished) {
			z->lost_jobs++;
			job_warm_fallback(j);
		}
	}
}

/* Logs how a zygote that went wrong ended, with its last output. */
static void zygote_log_failure(struct zygote *z)
{
	char *tail = tail_text(z);
	const char *said = *tail ? "; its last output:" : " (it wrote nothing)";
	/* When the problem was something else, how it ended helps too. */
	char how[64] = "";
	if (!z->exit_is_problem && !z->killed && z->status.code >= 0)
		snprintf(how, sizeof(how), " (then it %s %d)",
			 z->status.signaled ? "was killed by signal" : "exited with status",
			 z->status.code);
	if (z->broken)
		log_warning("fork server %s failed before it was ready: %s%s; jobs naming it "
			    "run cold from now on%s%s", z->title, z->problem, how, said, tail);
	else
		log_warning("fork server %s stopped: %s%s; %u job%s it was running launched "
			    "again cold%s%s", z->title, z->problem, how, z->lost_jobs,
			    z->lost_jobs == 1 ? "" : "s", said, tail);
	free(tail);
}

/* The zygote is reaped: reads its last output and becomes a tombstone or
 * goes. */
static void zygote_finish(struct zygote *z)
{
	if (z->out_fd >= 0)
		zygote_read_output(z, z->out_fd);
	if (z->err_fd >= 0)
		zygote_read_output(z, z->err_fd);
	zygote_close_output(z, &z->out_fd);
	zygote_close_output(z, &z->err_fd);
	if (z->problem)
		zygote_log_failure(z);
	else
		log_debug("fork server %s stopped (%s)", z->title,
			  z->stop == ZSTOP_IDLE ? "idle" : "evicted");
	if (z->broken) {
		z->state = ZS_BROKEN;
	} else {
		z->state = ZS_GONE;
		forkserver_pool_kick(z->pool);
	}
}

void zygote_advance(struct zygote *z)
{
	switch (z->state) {
	case ZS_STARTING:
		if (z->problem) {
			z->broken = true;
			z->pool->stats.failed++;
			zygote_shut(z);
			zygote_advance(z);
		} else if (z->ready) {
			z->state = ZS_READY;
			z->pool->stats.became_ready++;
			reactor_timer_cancel(z->pool->ex->r, z->ready_timer);
			z->ready_timer = 0;
			struct job *j;
			while ((j = job_in_phase(z, WARM_WAIT_READY)))
				j->warm = WARM_TO_SEND;
			if (job_in_phase(z, WARM_TO_SEND))
				zygote_want_write(z, true);
			zygote_check_idle(z);
		}
		return;
	case ZS_READY:
		if (z->problem)
			z->pool->stats.lost++;
		if (z->problem || z->stop != ZSTOP_NONE) {
			zygote_shut(z);
			zygote_advance(z);
		}
		return;
	case ZS_STOPPING:
		if (z->exited)
			zygote_finish(z);
		return;
	case ZS_BROKEN:
	case ZS_GONE:
		return;
	}
}

/* ---- starting one ------------------------------------------------------------- */

/* "`a b c`", shortened for messages. */
static const char *make_title(struct arena *a, const char *const *argv)
{
	char buf[160];
	size_t n = 0;
	buf[n++] = '`';
	for (size_t i = 0; argv[i] && n < sizeof(buf) - 8; i++) {
		int w = snprintf(buf + n, sizeof(buf) - 8 - n, "%s%s", i ? " " : "", argv[i]);
		if (w < 0 || (size_t)w >= sizeof(buf) - 8 - n) {
			/* Right after what snprintf kept (it ends with a NUL). */
			n = sizeof(buf) - 9;
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		n += (size_t)w;
	}
	buf[n++] = '`';
	buf[n] = '\0';
	return arena_strdup(a, buf);
}

/* envp with FORKSERVER_FD_ENV set to FORKSERVER_FD (replacing any). */
static const char *const *zygote_envp(struct arena *a, const char *const *envp)
{
	size_t n = 0, klen = strlen(FORKSERVER_FD_ENV);
	while (envp[n])
		n++;
	const char **out = arena_alloc(a, (n + 2) * sizeof(*out), _Alignof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!(strncmp(envp[i], FORKSERVER_FD_ENV, klen) == 0 && envp[i][klen] == '='))
			out[k++] = envp[i];
	out[k] = arena_sprintf(a, "%s=%d", FORKSERVER_FD_ENV, FORKSERVER_FD);
	return out;
}

static struct zygote *zygote_new(struct forkserver_pool *p, uint64_t hash,
				 const struct exec_job *spec)
{
	struct zygote *z = calloc(1, sizeof(*z));
	if (!z)
		abort(); /* out of memory */
	z->pool = p;
	z->hash = hash;
	z->pidfd = z->sock = z->out_fd = z->err_fd = -1;
	arena_init(&z->mem);
	plan_cache_copy_desc(&z->mem, &z->container, &spec->container);
	z->argv = executor_arena_strv(&z->mem, spec->fork_server_argv);
	z->envp = executor_arena_strv(&z->mem, spec->envp);
	z->cwd = spec->working_directory ? arena_strdup(&z->mem, spec->working_directory) : NULL;
	z->title = make_title(&z->mem, z->argv);
	DLIST_APPEND(p->head, p->tail, z);
	return z;
}

void zygote_free(struct zygote *z)
{
	struct forkserver_pool *p = z->pool;
	DLIST_UNLINK(p->head, p->tail, z);
	free(z->problem);
	arena_release(&z->mem);
	free(z);
}

static int zygote_watch(struct zygote *z, struct err **err)
{
	struct reactor *r = z->pool->ex->r;
	if (reactor_add_fd(r, z->pidfd, EPOLLIN, on_pidfd, z, err) < 0 ||
	    reactor_add_fd(r, z->sock, EPOLLIN, on_sock, z, err) < 0 ||
	    reactor_add_fd(r, z->out_fd, EPOLLIN, on_output, z, err) < 0 ||
	    reactor_add_fd(r, z->err_fd, EPOLLIN, on_output, z, err) < 0)
		return -1;
	z->ready_timer = reactor_timer_add(r, z->pool->ready_ns, on_ready_timeout, z);
	return 0;
}

/* Launches the zygote's container: like a cold job of the key, with argv
 * the zygote's, the variable naming fd 3, and one end of a socket pair
 * there. */
static int zygote_launch(struct zygote *z, struct err **err)
{
	struct executor *ex = z->pool->ex;
	if (!z->argv[0] || !*z->argv[0])
		return err_set(err, 0, "its argv is empty");
	const struct mount_plan *plan = plan_cache_get(&ex->plans, &z->container, err);
	if (!plan)
		return -1;
	int sv[2], out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(err, errno, "cannot create its socket pair");
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0 || executor_output_pipe(out, err) < 0 ||
	    executor_output_pipe(errp, err) < 0) {
		if (!*err)
			err_set(err, errno, "cannot make its socket non-blocking");
		int fds[] = { sv[0], sv[1], out[0], out[1], errp[0], errp[1] };
		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return -1;
	}
	struct launch_request req = {
		.plan = plan,
		.program = z->argv[0],
		.argv = z->argv,
		.envp = zygote_envp(&z->mem, z->envp),
		.working_directory = z->cwd,
		.stdin_fd = ex->devnull,
		.stdout_fd = out[1],
		.stderr_fd = errp[1],
		.extra_fd = sv[1],
		/* No pooled network namespace: a zygote would hold one for
		 * its whole life. Its children make their own anyway. */
		.netns_pool = NULL,
	};
	struct launch_result lr;
	enum launch_failure failure;
	int ret = container_launch(&req, &lr, &failure, err);
	close(sv[1]);
	close(out[1]);
	close(errp[1]);
	z->sock = sv[0];
	z->out_fd = out[0];
	z->err_fd = errp[0];
	if (ret < 0)
		return -1;
	z->pidfd = lr.pidfd;
	return zygote_watch(z, err);
}

struct zygote *zygote_start(struct forkserver_pool *p, uint64_t hash, const struct exec_job *spec)
{
	struct zygote *z = zygote_new(p, hash, spec);
	p->stats.started++;
	struct err *e = NULL;
	if (zygote_launch(z, &e) == 0) {
		z->state = ZS_STARTING;
		log_debug("fork server %s started", z->title);
		return z;
	}
	/* Whatever the launch left behind goes; the key stays, broken. */
	zygote_problem(z, "cannot launch it: %s", err_msg(e));
	err_free(&e);
	z->status.code = -1;   /* no exit status to tell */
	z->state = ZS_STARTING;
	zygote_advance(z);   /* -> STOPPING; finishes at once unless a child runs */
	if (z->pidfd >= 0) {
		/* Launched, then not watchable: reap it now (it was killed). */
		reactor_del_fd(p->ex->r, z->pidfd);
		siginfo_t info;
		while (waitid((idtype_t)P_PIDFD, (id_t)z->pidfd, &info, WEXITED) < 0 &&
		       errno == EINTR)
			;
		close(z->pidfd);
		z->pidfd = -1;
	}
	z->exited = true;
	zygote_advance(z);
	return NULL;
}

/* ---- the pool's side ------------------------------------------------------ */

void zygote_attach(struct zygote *z, struct job *j)
{
	struct forkserver_pool *p = z->pool;
	j->zygote = z;
	z->n_jobs++;
	z->last_used = ++p->clock;
	reactor_timer_cancel(p->ex->r, z->idle_timer);
	z->idle_timer = 0;
	if (z->state == ZS_READY) {
		j->warm = WARM_TO_SEND;
		zygote_want_write(z, true);
	} else {
		j->warm = WARM_WAIT_READY;
	}
}

void zygote_kill(struct zygote *z)
{
	if (z->pidfd >= 0)
		container_kill(z->pidfd);
}

void zygote_destroy(struct zygote *z)
{
	struct job *j;
	while ((j = job_any(z)))
		zygote_detach(z, j);
	zygote_cancel_timers(z);
	zygote_close_socket(z);
	zygote_close_output(z, &z->out_fd);
	zygote_close_output(z, &z->err_fd);
	if (z->pidfd >= 0) {
		reactor_del_fd(z->pool->ex->r, z->pidfd);
		siginfo_t info;
		while (waitid((idtype_t)P_PIDFD, (id_t)z->pidfd, &info, WEXITED) < 0 &&
		       errno == EINTR)
			;
		close(z->pidfd);
		z->pidfd = -1;
	}
	zygote_free(z);
}
