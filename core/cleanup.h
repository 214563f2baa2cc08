/*
 * cleanup: scope-bound ownership for fds, heap memory and children.
 *
 *     _cleanup_free_ char *path = NULL;   freed when it leaves scope
 *     _cleanup_close_ int fd = -1;         closed when it leaves scope
 *     return steal_pointer(&path);         hand ownership on, leaving NULL
 *     int out = steal_fd(&fd);             hand an fd on, leaving -1
 *
 * (After crun's src/libcrun/utils.h.)
 */
#ifndef CORE_CLEANUP_H
#define CORE_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))

static inline void *steal_pointer_impl(void *pp)
{
	void **p = pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_pointer_impl(pp))

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
