/*
 * fdio: small helpers for blocking file descriptors that the storage code
 * shares.
 *
 * Whole writes: a short write is not an error; the rest is written, and an
 * interrupted call (EINTR) is retried, until everything is written or a
 * real error stops it. (For non-blocking descriptors, use the reactor and a
 * struct buf instead.)
 *
 * Every function returns 0, or -1 with errno set.
 */
#ifndef CORE_FDIO_H
#define CORE_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes buf[0..len) to fd (part of it may be written on failure). */
int fd_write_all(int fd, const void *buf, size_t len);

/* The same with pwrite at offset off (the file position does not move). */
int fd_pwrite_all(int fd, const void *buf, size_t len, off_t off);

/* chmod of name relative to dirfd that never follows a symlink at name:
 * fchmodat2(AT_SYMLINK_NOFOLLOW) where the kernel has it (6.6+), else
 * glibc's fchmodat emulation (which fails with EOPNOTSUPP on a symlink). */
int fd_chmod_nofollow(int dirfd, const char *name, mode_t mode);

#endif
