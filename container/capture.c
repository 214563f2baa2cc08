/*
 * capture.c: bounded capture of one pipe. See container/capture.h.
 */
#include "container/capture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define CHUNK (64u << 10)

void capture_init(struct capture *c, int fd, size_t limit)
{
	c->fd = fd;
	c->eof = false;
	c->limit = limit;
	buf_init(&c->kept);
	c->truncated = 0;
}

/* Keeps what fits under the limit and counts the rest. */
static void capture_keep(struct capture *c, const char *data, size_t n)
{
	size_t room = c->limit > c->kept.len ? c->limit - c->kept.len : 0;
	size_t keep = n < room ? n : room;
	if (keep > 0)
		buf_append(&c->kept, data, keep);
	c->truncated += n - keep;
}

bool capture_read(struct capture *c)
{
	if (c->eof || c->fd < 0)
		return true;
	char chunk[CHUNK];
	size_t budget = CAPTURE_READ_BUDGET;
	while (budget > 0) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));
		if (n > 0) {
			capture_keep(c, chunk, (size_t)n);
			budget -= (size_t)n < budget ? (size_t)n : budget;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0)
			log_warning("cannot read a job's output pipe: %s; the rest of the "
				    "output is lost", strerror(errno));
		c->eof = true;
		return true;
	}
	return false;
}

void capture_close(struct capture *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

void capture_take(struct capture *c, struct captured *out)
{
	out->truncated = c->truncated;
	if (c->kept.len > 0) {
		out->data = buf_detach(&c->kept, &out->len);
	} else {
		out->data = NULL;
		out->len = 0;
		buf_release(&c->kept);
	}
	c->truncated = 0;
}

void capture_release(struct capture *c)
{
	capture_close(c);
	buf_release(&c->kept);
	c->truncated = 0;
}

void captured_release(struct captured *out)
{
	free(out->data);
	out->data = NULL;
	out->len = 0;
	out->truncated = 0;
}
