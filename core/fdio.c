#include "core/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* write(), or pwrite() at off when off >= 0, until all of buf is out. */
static int write_fully(int fd, const char *p, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
	return write_fully(fd, buf, len, -1);
}

int fd_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	/* A negative offset is pwrite's EINVAL, not a plain write. */
	if (off < 0 && len > 0) {
		errno = EINVAL;
		return -1;
	}
	return write_fully(fd, buf, len, off);
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 /* same number on every architecture */
#endif

int fd_chmod_nofollow(int dirfd, const char *name, mode_t mode)
{
	if (syscall(SYS_fchmodat2, dirfd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return fchmodat(dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
}
