/*
 * engine_watch: --watch's eye on the project directory.
 *
 * One inotify instance, watched through the reactor, with one watch per
 * directory of the tree below the root, except hidden directories and the
 * ignored ones. Directories created later are added as their IN_CREATE (or
 * IN_MOVED_TO) arrives; IN_IGNORED drops a deleted directory's entry.
 *
 * A relevant event (a file written and closed, created, deleted or moved, in
 * a directory that is watched, under a name that is neither hidden nor
 * ignored) restarts the debounce timer while the watch is armed; when the
 * timer fires, the change callback runs once. While disarmed, events are
 * read and dropped (the tree is still followed), so what a run itself
 * writes never triggers the next run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/strv.h"
#include "runners/engine_internal.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
		    IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

struct watched_dir {
	int wd;
	char *rel;          /* path relative to the root; "" for the root */
};

struct engine_watch {
	struct reactor *r;
	int fd;                      /* inotify */
	char *root;
	char **ignore;               /* NULL-terminated copy */
	struct watched_dir *dirs;
	size_t n_dirs, cap_dirs;
	bool armed;
	bool warned_limit;           /* said once that the watch limit was hit */
	uint64_t debounce_ns;
	uint64_t timer;              /* pending debounce timer, 0 when none */
	void (*on_change)(void *arg);
	void *arg;
};

/* An ignore entry with a '/' names one path relative to the root; one
 * without names a directory of that name at any depth. */
static bool is_ignored(const struct engine_watch *w, const char *rel, const char *name)
{
	if (name[0] == '.')
		return true;
	for (char **p = w->ignore; p && *p; p++) {
		if (strchr(*p, '/') ? strcmp(*p, rel) == 0 : strcmp(*p, name) == 0)
			return true;
	}
	return false;
}

static char *join_rel(const char *dir_rel, const char *name)
{
	char *s;
	if (asprintf(&s, "%s%s%s", dir_rel, dir_rel[0] ? "/" : "", name) < 0)
		abort();
	return s;
}

static struct watched_dir *find_dir(struct engine_watch *w, int wd)
{
	for (size_t i = 0; i < w->n_dirs; i++)
		if (w->dirs[i].wd == wd)
			return &w->dirs[i];
	return NULL;
}

static void forget_dir(struct engine_watch *w, int wd)
{
	struct watched_dir *d = find_dir(w, wd);
	if (!d)
		return;
	free(d->rel);
	*d = w->dirs[--w->n_dirs];
}

/* Watches rel (relative to the root) and, recursively, its subdirectories.
 * Failures are logged, never fatal: a directory that vanished meanwhile is
 * normal, and a full watch table only narrows what is seen. */
static void add_tree(struct engine_watch *w, const char *rel)
{
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s%s%s", w->root, rel[0] ? "/" : "", rel) < 0)
		abort();
	int wd = inotify_add_watch(w->fd, path, WATCH_MASK);
	if (wd < 0) {
		if (errno == ENOSPC && !w->warned_limit) {
			w->warned_limit = true;
			log_warning("--watch: too many directories for inotify at %s; raise "
				    "/proc/sys/fs/inotify/max_user_watches to see changes there",
				    path);
		} else if (errno != ENOENT && errno != ENOTDIR && errno != ENOSPC) {
			log_warning("--watch: cannot watch %s: %s", path, strerror(errno));
		}
		return;
	}
	if (!find_dir(w, wd)) {
		if (w->n_dirs == w->cap_dirs) {
			w->cap_dirs = w->cap_dirs ? 2 * w->cap_dirs : 16;
			w->dirs = realloc(w->dirs, w->cap_dirs * sizeof(*w->dirs));
			if (!w->dirs)
				abort();
		}
		w->dirs[w->n_dirs].wd = wd;
		w->dirs[w->n_dirs].rel = strdup(rel);
		if (!w->dirs[w->n_dirs].rel)
			abort();
		w->n_dirs++;
	}

	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		bool is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			is_dir = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				 S_ISDIR(st.st_mode);
		}
		if (!is_dir)
			continue;
		_cleanup_free_ char *sub = join_rel(rel, de->d_name);
		if (!is_ignored(w, sub, de->d_name))
			add_tree(w, sub);
	}
	closedir(d);
}

static void on_debounce(struct reactor *r, void *arg)
{
	struct engine_watch *w = arg;
	(void)r;
	w->timer = 0;
	if (w->armed)
		w->on_change(w->arg);
}

static void changed(struct engine_watch *w)
{
	if (!w->armed)
		return;
	reactor_timer_cancel(w->r, w->timer);
	w->timer = reactor_timer_add(w->r, w->debounce_ns, on_debounce, w);
}

static void handle_event(struct engine_watch *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		changed(w);
		return;
	}
	if (ev->mask & IN_IGNORED) {
		forget_dir(w, ev->wd);
		return;
	}
	struct watched_dir *d = find_dir(w, ev->wd);
	if (!d || ev->len == 0 || !ev->name[0])
		return;
	_cleanup_free_ char *rel = join_rel(d->rel, ev->name);
	if (is_ignored(w, rel, ev->name))
		return;
	if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
		add_tree(w, rel);   /* may move w->dirs: d is stale from here */
	changed(w);
}

static void on_inotify(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct engine_watch *w = arg;
	char chunk[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	(void)r;
	(void)events;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;   /* EAGAIN: drained */
		for (char *p = chunk; p < chunk + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			handle_event(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

int engine_watch_new(struct engine_watch **out, struct reactor *r, const char *root,
		     const char *const *ignore, uint64_t debounce_ns,
		     void (*on_change)(void *arg), void *arg, struct err **err)
{
	*out = NULL;
	struct stat st;
	if (stat(root, &st) < 0)
		return err_set(err, errno, "--watch: cannot watch %s", root);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, 0, "--watch: %s is not a directory", root);

	struct engine_watch *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->r = r;
	w->fd = -1;
	w->debounce_ns = debounce_ns;
	w->on_change = on_change;
	w->arg = arg;
	w->root = strdup(root);
	w->ignore = ignore ? strv_dup(ignore) : NULL;
	if (!w->root || (ignore && !w->ignore))
		abort();
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		err_set(err, errno, "--watch: cannot create an inotify instance");
		engine_watch_free(w);
		return -1;
	}
	add_tree(w, "");
	if (w->n_dirs == 0) {
		err_set(err, 0, "--watch: cannot watch %s (see the warning above)", root);
		engine_watch_free(w);
		return -1;
	}
	if (reactor_add_fd(r, w->fd, EPOLLIN, on_inotify, w, err) < 0) {
		engine_watch_free(w);
		return err_wrap(err, "--watch");
	}
	*out = w;
	return 0;
}

void engine_watch_arm(struct engine_watch *w, bool armed)
{
	/* What happened while disarmed (still queued in the inotify fd) is
	 * not a change to act on: read it first, new directories included. */
	if (armed && !w->armed)
		on_inotify(w->r, w->fd, EPOLLIN, w);
	w->armed = armed;
	if (!armed) {
		reactor_timer_cancel(w->r, w->timer);
		w->timer = 0;
	}
}

size_t engine_watch_dirs(const struct engine_watch *w)
{
	return w->n_dirs;
}

void engine_watch_free(struct engine_watch *w)
{
	if (!w)
		return;
	reactor_timer_cancel(w->r, w->timer);
	if (w->fd >= 0) {
		reactor_del_fd(w->r, w->fd);
		close(w->fd);
	}
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i].rel);
	free(w->dirs);
	strv_free(w->ignore);
	free(w->root);
	free(w);
}
