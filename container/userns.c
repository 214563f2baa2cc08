/*
 * userns: id maps of a user namespace. See container/userns.h.
 */
#include "container/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char *userns_step_name(enum userns_step step)
{
	switch (step) {
	case USERNS_SETGROUPS:
		return "write \"deny\" to setgroups";
	case USERNS_UID_MAP:
		return "write uid_map";
	case USERNS_GID_MAP:
		return "write gid_map";
	}
	return "user namespace setup";
}

/* "/proc/<pid>/<name>" (or /proc/self/<name>) into buf, without snprintf.
 * Leaves buf empty when it does not fit (open then fails with ENOENT). */
static void proc_path(char *buf, size_t size, pid_t pid, const char *name)
{
	char id[24];
	size_t n = 0;
	if (pid <= 0) {
		memcpy(id, "self", 4);
		n = 4;
	} else {
		char rev[24];
		size_t k = 0;
		for (unsigned long v = (unsigned long)pid; v; v /= 10)
			rev[k++] = (char)('0' + v % 10);
		while (k)
			id[n++] = rev[--k];
	}
	size_t nlen = strlen(name);
	buf[0] = '\0';
	if (6 + n + 1 + nlen + 1 > size)
		return;
	memcpy(buf, "/proc/", 6);
	memcpy(buf + 6, id, n);
	buf[6 + n] = '/';
	memcpy(buf + 6 + n + 1, name, nlen + 1);
}

static int write_proc(pid_t pid, const char *name, const char *text, size_t len)
{
	char path[64];
	proc_path(path, sizeof(path), pid, name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, len);
	int r = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	close(fd);
	return r;
}

int userns_write_maps(pid_t pid, const char *uid_map, size_t uid_len,
                      const char *gid_map, size_t gid_len, enum userns_step *failed)
{
	int r = write_proc(pid, "setgroups", "deny", 4);
	if (r < 0) {
		*failed = USERNS_SETGROUPS;
		return r;
	}
	r = write_proc(pid, "uid_map", uid_map, uid_len);
	if (r < 0) {
		*failed = USERNS_UID_MAP;
		return r;
	}
	r = write_proc(pid, "gid_map", gid_map, gid_len);
	if (r < 0) {
		*failed = USERNS_GID_MAP;
		return r;
	}
	return 0;
}
