#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fdio.h"

struct fixture {
	char dir[1024];
	int dirfd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_fdio.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*state = f;
	return f->dirfd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlinkat(f->dirfd, "data", 0);
	unlinkat(f->dirfd, "link", 0);
	close(f->dirfd);
	int rc = rmdir(f->dir);
	free(f);
	return rc;
}

static void test_writes(void **state)
{
	struct fixture *f = *state;
	int fd = openat(f->dirfd, "data", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	/* More than one pipe buffer's worth, in one call. */
	size_t len = 1 << 20;
	char *big = malloc(len);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(fd_write_all(fd, big, len), 0);
	assert_int_equal(fd_pwrite_all(fd, "XYZ", 3, 10), 0);
	assert_int_equal(fd_write_all(fd, "!", 1), 0);   /* the position did not move */
	assert_int_equal(fd_write_all(fd, "", 0), 0);
	char got[16] = "";
	assert_int_equal(pread(fd, got, 14, 0), 14);
	assert_memory_equal(got, "abcdefghijXYZn", 14);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)len + 1);
	close(fd);
	free(big);
	/* A read-only descriptor: the error comes back with errno. */
	fd = openat(f->dirfd, "data", O_RDONLY | O_CLOEXEC);
	errno = 0;
	assert_int_equal(fd_write_all(fd, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(fd_pwrite_all(fd, "x", 1, 0), -1);
	close(fd);
}

static void test_chmod_nofollow(void **state)
{
	struct fixture *f = *state;
	int fd = openat(f->dirfd, "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(fd_chmod_nofollow(f->dirfd, "data", 0640), 0);
	struct stat st;
	assert_int_equal(fstatat(f->dirfd, "data", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* Through a symlink: refused, and the target keeps its mode. */
	assert_int_equal(symlinkat("data", f->dirfd, "link"), 0);
	assert_int_equal(fd_chmod_nofollow(f->dirfd, "link", 0600), -1);
	assert_int_equal(fstatat(f->dirfd, "data", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(fd_chmod_nofollow(f->dirfd, "missing", 0600), -1);
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes),
		cmocka_unit_test(test_chmod_nofollow),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
