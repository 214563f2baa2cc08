#include "core/offload.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"

/*
 * Wire format, child to parent: one tag byte, 'K' (result follows) or 'E'
 * (error message follows), then the payload up to OFFLOAD_MAX_RESULT bytes.
 * The parent stops storing after that many bytes but keeps draining the pipe
 * so that the child never blocks on a full pipe.
 */
#define TAG_OK 'K'
#define TAG_ERR 'E'

enum offload_state {
	OFFLOAD_RUNNING,    /* child alive or not yet reaped; done() pending */
	OFFLOAD_CANCELLED,  /* child killed; handle freed once it is reaped */
};

struct offload {
	enum offload_state state;
	struct reactor *r;
	int pipefd;           /* read end, -1 once closed */
	int pidfd;            /* owned by the reactor; valid until reaped */
	struct buf msg;       /* tag byte + payload */
	bool overflow;        /* the child sent more than fits */
	offload_done_cb *done;
	void *done_arg;
};

/* ---- child side -------------------------------------------------------- */

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* parent gone: nobody is left to tell */
		c += w;
		n -= (size_t)w;
	}
}

/* Undoes what the reactor did to signals (blocked for its signalfd) and any
 * handlers the parent installed, so fn runs like a fresh process would. */
static void reset_signals(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL); /* glibc-reserved ones fail: fine */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void child_main(int wfd, offload_fn *fn, void *arg)
{
	reset_signals();
	struct buf result = BUF_INIT, text = BUF_INIT;
	struct err *e = NULL;
	char tag = TAG_OK;
	int rc = fn(arg, &result, &e);
	if (rc < 0) {
		tag = TAG_ERR;
		buf_appends(&text, e ? err_msg(e) : "offloaded work failed without saying why");
	} else if (result.len > OFFLOAD_MAX_RESULT) {
		tag = TAG_ERR;
		buf_appendf(&text, "offloaded work produced %zu bytes of result, more than "
			    "the limit of %u bytes", result.len, OFFLOAD_MAX_RESULT);
	}
	const struct buf *out = tag == TAG_OK ? &result : &text;
	size_t n = out->len > OFFLOAD_MAX_RESULT ? OFFLOAD_MAX_RESULT : out->len;
	write_all(wfd, &tag, 1);
	if (n)
		write_all(wfd, out->data, n);
	_exit(tag == TAG_OK ? 0 : 1);
}

/* ---- parent side ------------------------------------------------------- */

static void pipe_close(struct offload *o)
{
	if (o->pipefd < 0)
		return;
	reactor_del_fd(o->r, o->pipefd);
	close(o->pipefd);
	o->pipefd = -1;
}

/* Reads what the pipe holds now; closes it at EOF or on error. */
static void pipe_drain(struct offload *o)
{
	char chunk[16384];
	for (;;) {
		ssize_t n = read(o->pipefd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				log_warning("offload: cannot read the result pipe: %s",
					    strerror(errno));
			pipe_close(o);
			return;
		}
		size_t room = 1 + OFFLOAD_MAX_RESULT - o->msg.len;
		if ((size_t)n > room) {
			o->overflow = true;
			n = (ssize_t)room;
		}
		buf_append(&o->msg, chunk, (size_t)n);
	}
}

static void on_pipe(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)fd;
	(void)events;
	pipe_drain(arg);
}

/* Decides what done() hears, calls it, and frees the handle. */
static void finish(struct offload *o, const struct child_status *st)
{
	struct buf why = BUF_INIT;
	int status = -1;
	const char *data = NULL;
	size_t len = 0;
	if (st->signaled) {
		buf_appendf(&why, "offloaded work died with signal %d (%s)", st->code,
			    strsignal(st->code));
	} else if (o->msg.len == 0) {
		buf_appendf(&why, "offloaded work exited with status %d without sending "
			    "a result", st->code);
	} else if (o->overflow) {
		buf_appendf(&why, "offloaded work sent more than %u bytes back",
			    OFFLOAD_MAX_RESULT);
	} else if (o->msg.data[0] == TAG_OK) {
		status = 0;
		data = o->msg.data + 1;
		len = o->msg.len - 1;
	} else if (o->msg.data[0] == TAG_ERR && o->msg.len > 1) {
		data = o->msg.data + 1;
		len = o->msg.len - 1;
	} else {
		buf_appendf(&why, "offloaded work sent back a malformed result "
			    "(exit status %d)", st->code);
	}
	if (!data) {
		data = why.data;
		len = why.len;
	}
	o->done(o->r, status, data, len, o->done_arg);
	buf_release(&why);
	buf_release(&o->msg);
	free(o);
}

static void on_exit_cb(struct reactor *r, int pidfd, const struct child_status *st,
		       void *arg)
{
	(void)r;
	(void)pidfd;
	struct offload *o = arg;
	o->pidfd = -1;
	switch (o->state) {
	case OFFLOAD_CANCELLED:
		free(o);
		return;
	case OFFLOAD_RUNNING:
		break;
	}
	/* Everything the child wrote is in the pipe now. Read it, and stop
	 * there even without EOF (a grandchild may hold the write end). */
	if (o->pipefd >= 0)
		pipe_drain(o);
	pipe_close(o);
	finish(o, st);
}

static void kill_and_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

struct offload *offload_start(struct reactor *r, offload_fn *fn, void *arg,
			      offload_done_cb *done, void *done_arg, struct err **err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		err_set(err, errno, "cannot start offloaded work: cannot create a pipe");
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		err_set(err, errno, "cannot start offloaded work: cannot fork");
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(p[1], fn, arg);
	}
	close(p[1]);

	int pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		err_set(err, errno, "cannot start offloaded work: cannot open a pidfd "
			"for child %d", (int)pid);
		kill_and_wait(pid);
		close(p[0]);
		return NULL;
	}
	struct offload *o = calloc(1, sizeof(*o));
	if (!o)
		abort(); /* out of memory */
	*o = (struct offload){
		.state = OFFLOAD_RUNNING, .r = r, .pipefd = p[0], .pidfd = pidfd,
		.done = done, .done_arg = done_arg,
	};
	buf_init(&o->msg);
	int fl = fcntl(p[0], F_GETFL);
	if (fl < 0 || fcntl(p[0], F_SETFL, fl | O_NONBLOCK) < 0) {
		err_set(err, errno, "cannot start offloaded work: cannot make its pipe "
			"non-blocking");
		goto fail;
	}
	if (reactor_add_fd(r, p[0], EPOLLIN, on_pipe, o, err) < 0) {
		err_wrap(err, "cannot start offloaded work");
		goto fail;
	}
	if (reactor_watch_child(r, pidfd, on_exit_cb, o, err) < 0) {
		pidfd = -1; /* the reactor closed it */
		err_wrap(err, "cannot start offloaded work");
		goto fail;
	}
	return o;
fail:
	reactor_del_fd(r, p[0]);
	close(p[0]);
	if (pidfd >= 0)
		close(pidfd);
	kill_and_wait(pid);
	free(o);
	return NULL;
}

void offload_cancel(struct offload *o)
{
	if (!o || o->state != OFFLOAD_RUNNING)
		return;
	if (o->pidfd >= 0 && pidfd_send_signal(o->pidfd, SIGKILL, NULL, 0) < 0)
		log_warning("offload: cannot kill offloaded work: %s", strerror(errno));
	pipe_close(o);
	buf_release(&o->msg);
	o->state = OFFLOAD_CANCELLED;
}
