#include "runners/run/tty_term.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"

void tty_term_init(struct tty_term *t, int fd)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (fd >= 0 && tcgetattr(fd, &t->saved) == 0) {
		t->fd = fd;
		t->have_saved = true;
	}
}

const struct termios *tty_term_saved(const struct tty_term *t)
{
	return t->have_saved ? &t->saved : NULL;
}

static int set_nonblock(const struct tty_term *t, struct err **err)
{
	for (unsigned i = 0; i < t->n_flag_fds; i++)
		if (fcntl(t->flag_fds[i], F_SETFL, t->saved_flags[i] | O_NONBLOCK) < 0)
			return err_set(err, errno, "making descriptor %d non-blocking",
				       t->flag_fds[i]);
	return 0;
}

int tty_term_raw(struct tty_term *t, struct err **err)
{
	if (t->fd >= 0 && !t->raw) {
		struct termios raw;
		if (tcgetattr(t->fd, &t->saved) < 0)
			return err_set(err, errno, "reading the terminal mode of descriptor %d",
				       t->fd);
		raw = t->saved;
		cfmakeraw(&raw);
		if (tcsetattr(t->fd, TCSADRAIN, &raw) < 0)
			return err_set(err, errno, "putting the terminal (descriptor %d) in raw "
				       "mode", t->fd);
		t->raw = true;
	}
	if (!t->flags_changed) {
		t->flags_changed = true;
		if (set_nonblock(t, err) < 0)
			return -1;
	}
	return 0;
}

int tty_term_nonblock(struct tty_term *t, int fd, struct err **err)
{
	for (unsigned i = 0; i < t->n_flag_fds; i++)
		if (t->flag_fds[i] == fd)
			return 0;
	if (t->n_flag_fds == TTY_TERM_MAX_FDS)
		return err_set(err, 0, "descriptor %d: at most %d descriptors can be made "
			       "non-blocking", fd, TTY_TERM_MAX_FDS);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return err_set(err, errno, "reading the flags of descriptor %d", fd);
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return err_set(err, errno, "making descriptor %d non-blocking", fd);
	t->flag_fds[t->n_flag_fds] = fd;
	t->saved_flags[t->n_flag_fds] = fl;
	t->n_flag_fds++;
	t->flags_changed = true;
	return 0;
}

void tty_term_restore(struct tty_term *t)
{
	int saved_errno = errno;
	if (t->flags_changed) {
		for (unsigned i = 0; i < t->n_flag_fds; i++)
			fcntl(t->flag_fds[i], F_SETFL, t->saved_flags[i]);
		t->flags_changed = false;
	}
	if (t->raw) {
		/* TCSADRAIN: what the job wrote last is shown in the mode it
		 * was written for. */
		while (tcsetattr(t->fd, TCSADRAIN, &t->saved) < 0 && errno == EINTR)
			;
		t->raw = false;
	}
	errno = saved_errno;
}

void tty_window_size(int fd, struct winsize *ws)
{
	memset(ws, 0, sizeof(*ws));
	if (fd < 0 || ioctl(fd, TIOCGWINSZ, ws) < 0 || ws->ws_col == 0 || ws->ws_row == 0) {
		memset(ws, 0, sizeof(*ws));
		ws->ws_col = TTY_DEFAULT_COLS;
		ws->ws_row = TTY_DEFAULT_ROWS;
	}
}

int tty_pty_open(int *master, int *slave, const struct winsize *ws, const struct termios *mode,
		 struct err **err)
{
	_cleanup_close_ int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return err_set(err, errno, "opening a pseudo-terminal (/dev/ptmx)");
	if (grantpt(m) < 0 || unlockpt(m) < 0)
		return err_set(err, errno, "unlocking a pseudo-terminal");
	char name[64];
	if (ptsname_r(m, name, sizeof(name)) != 0)
		return err_set(err, errno, "naming the pseudo-terminal's slave");
	_cleanup_close_ int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return err_set(err, errno, "opening the pseudo-terminal slave %s", name);
	if (mode && tcsetattr(s, TCSANOW, mode) < 0)
		return err_set(err, errno, "setting the mode of %s", name);
	if (ioctl(m, TIOCSWINSZ, ws) < 0)
		return err_set(err, errno, "setting the window size of %s", name);
	*master = steal_fd(&m);
	*slave = steal_fd(&s);
	return 0;
}
