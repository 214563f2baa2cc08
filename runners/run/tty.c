#include "runners/run/tty.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "runners/run/tty_escape.h"
#include "runners/run/tty_term.h"

/* Bytes read at once from each side. */
#define IN_CHUNK 4096
#define OUT_CHUNK 16384

/* After the input ended: how often to check whether the job wants more. */
#define EOF_INTERVAL_MS 100

enum input_state {
	INPUT_IDLE,     /* not started yet */
	INPUT_OPEN,     /* relaying what the user types */
	INPUT_ENDED,    /* the input ended: the job gets ends of file */
	INPUT_CLOSED,   /* detached, job over or terminal restored: nothing more */
};

enum output_state {
	OUTPUT_RELAYING,  /* the job may still write */
	OUTPUT_DRAINING,  /* the job is over: relaying what is left */
	OUTPUT_DONE,      /* reported */
};

struct tty_session {
	struct reactor *r;
	struct tty_session_config cfg;
	tty_session_cb *cb;
	void *arg;
	struct tty_term term;
	int master, slave;
	struct tty_escape esc;
	uint64_t esc_timer;

	enum input_state in_state;
	bool in_pollable;
	bool in_watched;
	struct buf to_job;
	uint64_t eof_timer;
	bool job_started;
	bool have_mode;           /* job_mode: the job's terminal mode at the last tick */
	struct termios job_mode;

	enum output_state out_state;
	bool master_eof;
	uint32_t master_events;   /* registered with the reactor; 0: not */
	bool out_pollable;
	bool out_watched;
	bool out_broken;          /* our standard output went away */
	struct buf to_user;
	uint64_t grace_timer;
	bool signals;             /* SIGWINCH and SIGTSTP are ours */
};

static void update_watches(struct tty_session *s);

/* ---- the end ------------------------------------------------------------- */

static void maybe_output_done(struct tty_session *s)
{
	if (s->out_state != OUTPUT_DRAINING || !s->master_eof ||
	    (s->to_user.len && !s->out_broken))
		return;
	s->out_state = OUTPUT_DONE;
	reactor_timer_cancel(s->r, s->grace_timer);
	s->grace_timer = 0;
	update_watches(s);
	s->cb(s->arg, TTY_SESSION_OUTPUT_DONE);
}

static void on_grace(struct reactor *r, void *arg)
{
	struct tty_session *s = arg;
	(void)r;
	s->grace_timer = 0;
	log_debug("the job's terminal stayed open %d ms after the job ended; not waiting for "
		  "more output", TTY_DRAIN_GRACE_MS);
	s->master_eof = true;
	s->out_broken = true;   /* do not wait for a stuck standard output either */
	maybe_output_done(s);
}

/* ---- job output -> standard output ----------------------------------------- */

static void write_to_user(struct tty_session *s)
{
	while (s->to_user.len && !s->out_broken) {
		ssize_t n = write(s->cfg.out_fd, s->to_user.data, s->to_user.len);
		if (n > 0) {
			buf_consume(&s->to_user, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;   /* update_watches asks for EPOLLOUT */
		/* A closed pipe or a gone terminal: nobody can see the rest. */
		log_debug("writing the job's output: %s", n < 0 ? strerror(errno) : "no progress");
		s->out_broken = true;
	}
	if (s->out_broken)
		buf_consume(&s->to_user, s->to_user.len);
}

static void read_master(struct tty_session *s)
{
	buf_reserve(&s->to_user, OUT_CHUNK);
	ssize_t n = read(s->master, s->to_user.data + s->to_user.len, OUT_CHUNK);
	if (n > 0) {
		s->to_user.len += (size_t)n;
		s->to_user.data[s->to_user.len] = '\0';
		write_to_user(s);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EIO: no slave is open any more and everything was read. */
	s->master_eof = true;
}

static void on_out_writable(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct tty_session *s = arg;
	(void)r;
	(void)fd;
	(void)events;
	write_to_user(s);
	update_watches(s);
	maybe_output_done(s);
}

/* ---- input -> the job --------------------------------------------------- */

static void flush_to_job(struct tty_session *s)
{
	while (s->to_job.len) {
		ssize_t n = write(s->master, s->to_job.data, s->to_job.len);
		if (n > 0) {
			buf_consume(&s->to_job, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;   /* the job is not reading: wait for EPOLLOUT */
		log_debug("writing to the job's terminal: %s", n < 0 ? strerror(errno) : "no progress");
		buf_consume(&s->to_job, s->to_job.len);
	}
}

static void queue_to_job(struct tty_session *s, const unsigned char *data, size_t len)
{
	if (!len || s->in_state == INPUT_CLOSED)
		return;
	buf_append(&s->to_job, data, len);
}

static void send_window_size(struct tty_session *s)
{
	if (s->term.fd < 0)
		return;
	struct winsize ws;
	tty_window_size(s->term.fd, &ws);
	if (ioctl(s->master, TIOCSWINSZ, &ws) < 0)
		log_debug("resizing the job's terminal: %s", strerror(errno));
}

/* ESC ^Z, or SIGTSTP: give the terminal back and stop until continued. */
static void suspend(struct tty_session *s)
{
	tty_term_restore(&s->term);
	kill(getpid(), SIGSTOP);
	/* Continued (`fg`): the shell may have changed the mode meanwhile. */
	struct err *err = NULL;
	if (tty_term_raw(&s->term, &err) < 0) {
		log_warning("resuming: %s", err_msg(err));
		err_free(&err);
	}
	send_window_size(s);
}

static void on_escape_timeout(struct reactor *r, void *arg)
{
	struct tty_session *s = arg;
	(void)r;
	s->esc_timer = 0;
	unsigned char c;
	if (tty_escape_flush(&s->esc, &c))
		queue_to_job(s, &c, 1);
	flush_to_job(s);
	update_watches(s);
}

static void arm_escape_timer(struct tty_session *s)
{
	bool pending = tty_escape_pending(&s->esc);
	if (pending && !s->esc_timer)
		s->esc_timer = reactor_timer_add(s->r, (uint64_t)TTY_ESCAPE_TIMEOUT_MS * 1000000u,
						 on_escape_timeout, s);
	else if (!pending && s->esc_timer) {
		reactor_timer_cancel(s->r, s->esc_timer);
		s->esc_timer = 0;
	}
}

static void filter_input(struct tty_session *s, const unsigned char *in, size_t len)
{
	unsigned char out[IN_CHUNK + 1];
	while (len && s->in_state == INPUT_OPEN) {
		size_t used;
		enum tty_escape_action act;
		size_t n = tty_escape_filter(&s->esc, in, len, out, &used, &act);
		queue_to_job(s, out, n);
		in += used;
		len -= used;
		switch (act) {
		case TTY_ESCAPE_NONE:
			break;
		case TTY_ESCAPE_DETACH:
			s->in_state = INPUT_CLOSED;
			buf_consume(&s->to_job, s->to_job.len);
			s->cb(s->arg, TTY_SESSION_DETACH);
			break;
		case TTY_ESCAPE_SUSPEND:
			flush_to_job(s);
			suspend(s);
			break;
		}
	}
	arm_escape_timer(s);
}

/* True when the job has read everything sent so far (a canonical-mode
 * line without its newline does not count: it cannot be read yet). */
static bool job_took_everything(const struct tty_session *s)
{
	if (s->to_job.len)
		return false;
	struct pollfd p = { .fd = s->slave, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

/* Whether the job's terminal mode is the same as at the previous tick:
 * a starting program (a shell setting up line editing) has settled. */
static bool job_mode_settled(struct tty_session *s, struct termios *mode)
{
	if (tcgetattr(s->master, mode) < 0)
		return false;
	bool same = s->have_mode && s->job_mode.c_lflag == mode->c_lflag &&
		    s->job_mode.c_iflag == mode->c_iflag &&
		    memcmp(s->job_mode.c_cc, mode->c_cc, sizeof(mode->c_cc)) == 0;
	s->job_mode = *mode;
	s->have_mode = true;
	return same;
}

/* Once the input ended, every read of the job should see an end of file:
 * whenever the job has taken everything, it gets the EOF character (^D),
 * as if typed. Sent one at a time, only to an empty queue of a job that
 * runs and whose terminal mode did not change since the last tick: a ^D
 * queued in canonical mode turns into a NUL byte if the job switches to
 * raw mode before reading it, as a starting shell does. */
static void on_eof_tick(struct reactor *r, void *arg)
{
	struct tty_session *s = arg;
	struct termios mode;
	s->eof_timer = 0;
	if (s->in_state != INPUT_ENDED)
		return;
	if (s->job_started && job_mode_settled(s, &mode) && job_took_everything(s)) {
		unsigned char eof = mode.c_cc[VEOF] != _POSIX_VDISABLE ? mode.c_cc[VEOF] : 0x04;
		queue_to_job(s, &eof, 1);
		flush_to_job(s);
		update_watches(s);
	}
	s->eof_timer = reactor_timer_add(r, (uint64_t)EOF_INTERVAL_MS * 1000000u, on_eof_tick, s);
}

static void input_ended(struct tty_session *s)
{
	if (s->in_state != INPUT_OPEN)
		return;
	unsigned char c;
	if (tty_escape_flush(&s->esc, &c))
		queue_to_job(s, &c, 1);
	arm_escape_timer(s);
	s->in_state = INPUT_ENDED;
	s->eof_timer = reactor_timer_add(s->r, 0, on_eof_tick, s);
}

static void read_input(struct tty_session *s)
{
	unsigned char chunk[IN_CHUNK];
	ssize_t n = read(s->cfg.in_fd, chunk, sizeof(chunk));
	if (n > 0)
		filter_input(s, chunk, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		input_ended(s);   /* EOF, or EIO from a terminal that hung up */
	flush_to_job(s);
}

static void on_input(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct tty_session *s = arg;
	(void)r;
	(void)fd;
	(void)events;
	read_input(s);
	update_watches(s);
}

static void on_master(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct tty_session *s = arg;
	(void)r;
	(void)fd;
	if (events & EPOLLOUT) {
		/* Input that cannot be polled (a file) is read as the job
		 * takes it. */
		if (!s->to_job.len && s->in_state == INPUT_OPEN && !s->in_pollable)
			read_input(s);
		flush_to_job(s);
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->to_user.len && !s->master_eof)
		read_master(s);
	update_watches(s);
	maybe_output_done(s);
}

static void on_winch(struct reactor *r, int signo, void *arg)
{
	(void)r;
	(void)signo;
	send_window_size(arg);
}

static void on_tstp(struct reactor *r, int signo, void *arg)
{
	struct tty_session *s = arg;
	(void)r;
	(void)signo;
	if (s->term.raw)
		suspend(s);
}

/* ---- registrations --------------------------------------------------------- */

static void watch(struct tty_session *s, int fd, bool want, bool *watched, uint32_t events,
		  reactor_fd_cb *cb)
{
	if (want == *watched)
		return;
	if (!want) {
		reactor_del_fd(s->r, fd);
		*watched = false;
		return;
	}
	struct err *err = NULL;
	if (reactor_add_fd(s->r, fd, events, cb, s, &err) < 0) {
		log_error("tty: watching descriptor %d: %s", fd, err_msg(err));
		err_free(&err);
		return;
	}
	*watched = true;
}

static void update_watches(struct tty_session *s)
{
	bool open = s->in_state == INPUT_OPEN;
	watch(s, s->cfg.in_fd, open && s->in_pollable && !s->to_job.len, &s->in_watched,
	      EPOLLIN, on_input);

	uint32_t ev = 0;
	if (!s->master_eof && !s->to_user.len && s->out_state != OUTPUT_DONE)
		ev |= EPOLLIN;
	if (s->in_state != INPUT_CLOSED &&
	    (s->to_job.len || (open && !s->in_pollable)))
		ev |= EPOLLOUT;
	struct err *err = NULL;
	int rc = 0;
	if (ev && !s->master_events)
		rc = reactor_add_fd(s->r, s->master, ev, on_master, s, &err);
	else if (ev && ev != s->master_events)
		rc = reactor_mod_fd(s->r, s->master, ev, &err);
	else if (!ev && s->master_events)
		reactor_del_fd(s->r, s->master);
	if (rc < 0) {
		log_error("tty: watching the pseudo-terminal: %s", err_msg(err));
		err_free(&err);
	} else {
		s->master_events = ev;
	}

	watch(s, s->cfg.out_fd, s->to_user.len && s->out_pollable && !s->out_broken,
	      &s->out_watched, EPOLLOUT, on_out_writable);
}

/* ---- public ------------------------------------------------------------------ */

int tty_session_new(struct tty_session **out, struct reactor *r,
		    const struct tty_session_config *cfg, tty_session_cb *cb, void *arg,
		    struct err **err)
{
	struct tty_session *s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(err, ENOMEM, "tty session");
	s->r = r;
	s->cfg = *cfg;
	s->cb = cb;
	s->arg = arg;
	s->master = s->slave = -1;
	tty_term_init(&s->term, cfg->term_fd);
	tty_escape_init(&s->esc, cfg->escape);
	struct winsize ws;
	tty_window_size(s->term.fd, &ws);
	if (tty_pty_open(&s->master, &s->slave, &ws, tty_term_saved(&s->term), err) < 0) {
		free(s);
		return -1;
	}
	*out = s;
	return 0;
}

int tty_session_slave(const struct tty_session *s)
{
	return s->slave;
}

/* Whether the reactor can watch fd (pipes, terminals, sockets can; regular
 * files and /dev/null cannot). */
static bool pollable(struct reactor *r, int fd, uint32_t events)
{
	struct err *err = NULL;
	if (reactor_add_fd(r, fd, events, on_input, NULL, &err) < 0) {
		err_free(&err);
		return false;
	}
	reactor_del_fd(r, fd);
	return true;
}

int tty_session_start(struct tty_session *s, struct err **err)
{
	s->in_pollable = pollable(s->r, s->cfg.in_fd, EPOLLIN);
	s->out_pollable = pollable(s->r, s->cfg.out_fd, EPOLLOUT);
	if ((s->in_pollable && tty_term_nonblock(&s->term, s->cfg.in_fd, err) < 0) ||
	    (s->out_pollable && tty_term_nonblock(&s->term, s->cfg.out_fd, err) < 0) ||
	    tty_term_raw(&s->term, err) < 0) {
		tty_term_restore(&s->term);
		return -1;
	}
	if (reactor_on_signal(s->r, SIGWINCH, on_winch, s, err) < 0 ||
	    reactor_on_signal(s->r, SIGTSTP, on_tstp, s, err) < 0) {
		tty_term_restore(&s->term);
		return -1;
	}
	s->signals = true;
	s->in_state = INPUT_OPEN;
	update_watches(s);
	return 0;
}

void tty_session_job_started(struct tty_session *s)
{
	s->job_started = true;
}

void tty_session_job_done(struct tty_session *s)
{
	if (s->out_state != OUTPUT_RELAYING)
		return;
	s->in_state = INPUT_CLOSED;
	buf_consume(&s->to_job, s->to_job.len);
	reactor_timer_cancel(s->r, s->esc_timer);
	s->esc_timer = 0;
	reactor_timer_cancel(s->r, s->eof_timer);
	s->eof_timer = 0;
	if (s->slave >= 0) {
		close(s->slave);
		s->slave = -1;
	}
	s->out_state = OUTPUT_DRAINING;
	s->grace_timer = reactor_timer_add(s->r, (uint64_t)TTY_DRAIN_GRACE_MS * 1000000u,
					   on_grace, s);
	update_watches(s);
	maybe_output_done(s);
}

void tty_session_free(struct tty_session *s)
{
	if (!s)
		return;
	tty_term_restore(&s->term);
	if (s->in_watched)
		reactor_del_fd(s->r, s->cfg.in_fd);
	if (s->out_watched)
		reactor_del_fd(s->r, s->cfg.out_fd);
	if (s->master_events)
		reactor_del_fd(s->r, s->master);
	reactor_timer_cancel(s->r, s->esc_timer);
	reactor_timer_cancel(s->r, s->eof_timer);
	reactor_timer_cancel(s->r, s->grace_timer);
	if (s->signals) {
		/* The signals stay blocked; later ones are dropped. */
		reactor_on_signal(s->r, SIGWINCH, NULL, NULL, NULL);
		reactor_on_signal(s->r, SIGTSTP, NULL, NULL, NULL);
	}
	if (s->slave >= 0)
		close(s->slave);
	if (s->master >= 0)
		close(s->master);
	buf_release(&s->to_job);
	buf_release(&s->to_user);
	free(s);
}
