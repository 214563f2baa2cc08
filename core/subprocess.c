/*
 * subprocess: posix_spawnp, a pidfd of our own, and pipes read through the
 * reactor. See subprocess.h.
 */
#include "core/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"

extern char **environ;

/* Bytes read per read(2), and reads per wake-up before yielding the loop. */
#define CHUNK 65536
#define READS_PER_WAKE 16

/* One of the child's output streams, as the parent sees it. */
struct stream {
	enum subprocess_mode mode;
	int fd;           /* our read end; -1 when not a pipe or at end of file */
	struct buf buf;   /* CAPTURE: the bytes; LINES: the unfinished line(s) */
	size_t scanned;   /* LINES: bytes of buf already searched for '\n' */
	size_t dropped;   /* CAPTURE: bytes beyond the limit */
};

struct subprocess {
	struct reactor *r;
	pid_t pid;
	int pidfd;                 /* -1 once reaped */
	bool reaped;
	struct child_status status;
	struct stream s[2];        /* standard output, standard error */
	size_t capture_limit;
	bool group;                /* child leads its own process group */
	subprocess_line_cb *on_line;
	subprocess_done_cb *on_done;
	void *arg;
	unsigned in_callback;      /* depth of user callbacks running */
	bool freed;                /* subprocess_free was called */
	bool done;                 /* on_done ran */
};

static void release(struct subprocess *sp)
{
	for (size_t i = 0; i < 2; i++)
		buf_release(&sp->s[i].buf);
	free(sp);
}

/* After a user callback: false when the handle was freed inside it (and is
 * now gone if no outer callback still runs). */
static bool still_alive(struct subprocess *sp)
{
	if (!sp->freed)
		return true;
	if (sp->in_callback == 0)
		release(sp);
	return false;
}

static void close_stream(struct subprocess *sp, struct stream *s)
{
	if (s->fd < 0)
		return;
	reactor_del_fd(sp->r, s->fd);
	close(s->fd);
	s->fd = -1;
}

static void record_status(struct subprocess *sp, int ret, const siginfo_t *info)
{
	sp->reaped = true;
	sp->status.signaled = false;
	sp->status.code = -1;
	if (ret < 0)
		log_warning("cannot reap child %d: %s", (int)sp->pid, strerror(errno));
	else if (info->si_code == CLD_EXITED)
		sp->status.code = info->si_status;
	else {
		sp->status.signaled = true;
		sp->status.code = info->si_status;
	}
	reactor_del_fd(sp->r, sp->pidfd);
	close(sp->pidfd);
	sp->pidfd = -1;
}

/* Runs on_done once everything has ended. */
static void maybe_finish(struct subprocess *sp)
{
	if (!sp->reaped || sp->s[0].fd >= 0 || sp->s[1].fd >= 0 || sp->done || sp->freed)
		return;
	sp->done = true;
	if (!sp->on_done)
		return;
	sp->in_callback++;
	sp->on_done(sp, &sp->status, sp->arg);
	sp->in_callback--;
	still_alive(sp);
}

static void on_pidfd(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct subprocess *sp = arg;
	(void)r;
	(void)fd;
	(void)events;
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	int ret;
	do
		ret = waitid((idtype_t)P_PIDFD, (id_t)sp->pidfd, &info, WEXITED | WNOHANG);
	while (ret < 0 && errno == EINTR);
	if (ret == 0 && info.si_pid == 0)
		return; /* not exited yet: a spurious wake-up */
	record_status(sp, ret, &info);
	maybe_finish(sp);
}

/* LINES: hands every complete line in the buffer to on_line. Returns false
 * when the handle was freed by a callback. At end of file (eof), the
 * unfinished rest is a line too. */
static bool deliver_lines(struct subprocess *sp, int stream_no, bool eof)
{
	struct stream *s = &sp->s[stream_no - 1];
	size_t start = 0;
	for (;;) {
		char *nl = NULL;
		if (s->scanned < s->buf.len)
			nl = memchr(s->buf.data + s->scanned, '\n', s->buf.len - s->scanned);
		size_t end;
		if (nl) {
			end = (size_t)(nl - s->buf.data);
			s->scanned = end + 1;
		} else if (eof && start < s->buf.len) {
			end = s->buf.len;
			s->scanned = end;
		} else {
			break;
		}
		s->buf.data[end] = '\0';
		sp->in_callback++;
		sp->on_line(sp, stream_no, s->buf.data + start, end - start, sp->arg);
		sp->in_callback--;
		if (!still_alive(sp))
			return false;
		start = end < s->buf.len ? end + 1 : end;
	}
	buf_consume(&s->buf, start);
	s->scanned = s->buf.len;
	return true;
}

static void keep_captured(struct subprocess *sp, struct stream *s, const char *data, size_t n)
{
	size_t room = n;
	if (sp->capture_limit) {
		size_t left = s->buf.len < sp->capture_limit ? sp->capture_limit - s->buf.len : 0;
		if (room > left)
			room = left;
	}
	buf_append(&s->buf, data, room);
	s->dropped += n - room;
}

static void on_pipe(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct subprocess *sp = arg;
	(void)r;
	(void)events;
	int stream_no = fd == sp->s[0].fd ? 1 : 2;
	struct stream *s = &sp->s[stream_no - 1];
	char chunk[CHUNK];
	for (int i = 0; i < READS_PER_WAKE; i++) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0)
				log_warning("reading the output of child %d: %s", (int)sp->pid,
					    strerror(errno));
			close_stream(sp, s);
			if (s->mode == SUBPROCESS_LINES && !deliver_lines(sp, stream_no, true))
				return;
			maybe_finish(sp);
			return;
		}
		if (s->mode == SUBPROCESS_CAPTURE) {
			keep_captured(sp, s, chunk, (size_t)n);
			continue;
		}
		buf_append(&s->buf, chunk, (size_t)n);
		if (!deliver_lines(sp, stream_no, false))
			return;
	}
}

/* Kills the child if it still runs, then reaps it, blocking (SIGKILL makes
 * that short). */
static void kill_and_reap(struct subprocess *sp)
{
	if (sp->reaped || sp->pidfd < 0)
		return;
	kill(sp->group ? -sp->pid : sp->pid, SIGKILL);
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	int ret;
	do
		ret = waitid((idtype_t)P_PIDFD, (id_t)sp->pidfd, &info, WEXITED);
	while (ret < 0 && errno == EINTR);
	record_status(sp, ret, &info);
}

void subprocess_free(struct subprocess *sp)
{
	if (!sp || sp->freed)
		return;
	sp->freed = true;
	for (size_t i = 0; i < 2; i++)
		close_stream(sp, &sp->s[i]);
	kill_and_reap(sp);
	if (sp->in_callback == 0)
		release(sp);
}

void subprocess_kill(struct subprocess *sp, int signo)
{
	if (!sp->reaped)
		kill(sp->group ? -sp->pid : sp->pid, signo);
}

pid_t subprocess_pid(const struct subprocess *sp)
{
	return sp->pid;
}

const char *subprocess_captured(const struct subprocess *sp, int stream, size_t *len,
				size_t *dropped)
{
	const struct stream *s = &sp->s[stream == 2 ? 1 : 0];
	bool have = s->mode == SUBPROCESS_CAPTURE && s->buf.data;
	if (len)
		*len = have ? s->buf.len : 0;
	if (dropped)
		*dropped = s->dropped;
	return have ? s->buf.data : "";
}

const char *subprocess_status_text(const struct child_status *st, char *buf, size_t n)
{
	if (st->signaled)
		snprintf(buf, n, "killed by signal %d (%s)", st->code, strsignal(st->code));
	else if (st->code < 0)
		snprintf(buf, n, "could not be reaped");
	else
		snprintf(buf, n, "exited with status %d", st->code);
	return buf;
}

/* ---- spawning ---------------------------------------------------------- */

struct spawn_plan {
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pipes[2][2];
};

/* Sets up stream i (0: stdout, 1: stderr) of the child. */
static int plan_stream(struct spawn_plan *p, int i, enum subprocess_mode mode, struct err **err)
{
	int rc = 0;
	switch (mode) {
	case SUBPROCESS_INHERIT:
		return 0;
	case SUBPROCESS_NULL:
		rc = posix_spawn_file_actions_addopen(&p->fa, i + 1, "/dev/null", O_WRONLY, 0);
		break;
	case SUBPROCESS_CAPTURE:
	case SUBPROCESS_LINES:
		if (pipe2(p->pipes[i], O_CLOEXEC) < 0)
			return err_set(err, errno, "cannot create a pipe");
		rc = posix_spawn_file_actions_adddup2(&p->fa, p->pipes[i][1], i + 1);
		break;
	}
	if (rc)
		return err_set(err, rc, "cannot prepare the child's output");
	return 0;
}

static int plan_make(struct spawn_plan *p, const struct subprocess_options *o, struct err **err)
{
	int rc = posix_spawn_file_actions_addopen(&p->fa, 0, "/dev/null", O_RDONLY, 0);
	if (rc)
		return err_set(err, rc, "cannot prepare the child's input");
	if (plan_stream(p, 0, o->out, err) < 0 || plan_stream(p, 1, o->err, err) < 0)
		return -1;
	if (o->cwd && (rc = posix_spawn_file_actions_addchdir_np(&p->fa, o->cwd)))
		return err_set(err, rc, "cannot prepare the working directory %s", o->cwd);
	if ((rc = posix_spawn_file_actions_addclosefrom_np(&p->fa, 3)))
		return err_set(err, rc, "cannot prepare the child's descriptors");
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (o->new_process_group)
		flags |= POSIX_SPAWN_SETPGROUP;
	if ((rc = posix_spawnattr_setsigmask(&p->attr, &none)) ||
	    (rc = posix_spawnattr_setsigdefault(&p->attr, &all)) ||
	    (rc = posix_spawnattr_setpgroup(&p->attr, 0)) ||
	    (rc = posix_spawnattr_setflags(&p->attr, flags)))
		return err_set(err, rc, "cannot prepare the child's signals");
	return 0;
}

static void plan_release(struct spawn_plan *p)
{
	posix_spawn_file_actions_destroy(&p->fa);
	posix_spawnattr_destroy(&p->attr);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			if (p->pipes[i][j] >= 0)
				close(p->pipes[i][j]);
}

/* Takes the read ends out of the plan into sp, and watches them. */
static int watch_streams(struct subprocess *sp, struct spawn_plan *p, struct err **err)
{
	for (int i = 0; i < 2; i++) {
		if (p->pipes[i][0] < 0)
			continue;
		close(p->pipes[i][1]);
		p->pipes[i][1] = -1;
		int fd = steal_fd(&p->pipes[i][0]);
		sp->s[i].fd = fd;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return err_set(err, errno, "cannot make a pipe non-blocking");
		if (reactor_add_fd(sp->r, fd, EPOLLIN, on_pipe, sp, err) < 0)
			return -1;
	}
	return 0;
}

static int start_child(struct subprocess *sp, const struct subprocess_options *o,
		       struct err **err)
{
	struct spawn_plan p = {.pipes = {{-1, -1}, {-1, -1}}};
	posix_spawn_file_actions_init(&p.fa);
	posix_spawnattr_init(&p.attr);
	int rc = plan_make(&p, o, err);
	if (rc == 0) {
		char *const *envp = o->envp ? (char *const *)o->envp : environ;
		int e = posix_spawnp(&sp->pid, o->argv[0], &p.fa, &p.attr,
				     (char *const *)o->argv, envp);
		if (e)
			rc = err_set(err, e, "cannot run %s%s", o->argv[0],
				     e == ENOENT && o->cwd ? " (or its working directory)" : "");
	}
	if (rc == 0) {
		sp->pidfd = pidfd_open(sp->pid, 0);
		if (sp->pidfd < 0) {
			rc = err_set(err, errno, "cannot watch %s (pidfd_open)", o->argv[0]);
			kill(sp->pid, SIGKILL);
			waitpid(sp->pid, NULL, 0);
			sp->reaped = true;
		}
	}
	if (rc == 0)
		rc = watch_streams(sp, &p, err);
	if (rc == 0)
		rc = reactor_add_fd(sp->r, sp->pidfd, EPOLLIN, on_pidfd, sp, err);
	plan_release(&p);
	return rc;
}

int subprocess_spawn(struct subprocess **out, struct reactor *r,
		     const struct subprocess_options *o, struct err **err)
{
	*out = NULL;
	if (!o->argv || !o->argv[0])
		return err_set(err, EINVAL, "no program to run");
	bool lines = o->out == SUBPROCESS_LINES || o->err == SUBPROCESS_LINES;
	if (lines && !o->on_line)
		return err_set(err, EINVAL, "%s: line-by-line output needs a callback", o->argv[0]);
	struct subprocess *sp = calloc(1, sizeof(*sp));
	if (!sp)
		abort();
	sp->r = r;
	sp->pidfd = -1;
	sp->s[0] = (struct stream){.mode = o->out, .fd = -1};
	sp->s[1] = (struct stream){.mode = o->err, .fd = -1};
	sp->capture_limit = o->capture_limit;
	sp->group = o->new_process_group;
	sp->on_line = o->on_line;
	sp->on_done = o->on_done;
	sp->arg = o->arg;
	if (start_child(sp, o, err) < 0) {
		sp->freed = true;
		for (size_t i = 0; i < 2; i++)
			close_stream(sp, &sp->s[i]);
		kill_and_reap(sp);
		release(sp);
		return -1;
	}
	*out = sp;
	return 0;
}
