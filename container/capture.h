/*
 * capture: bounded capture of one output stream (stdout or stderr) of a job.
 *
 * A capture owns the read end of a pipe. capture_read() drains what the pipe
 * holds, keeps the first `limit` bytes and only counts the rest: the pipe is
 * always emptied, so a job that writes gigabytes never blocks on a full pipe
 * and the executor's memory stays bounded by `limit` per stream.
 *
 * The capture knows nothing about the reactor: the executor watches c->fd
 * and calls capture_read() when it is readable. Each call reads a bounded
 * amount (CAPTURE_READ_BUDGET bytes), so one chatty job cannot starve the
 * others; the reactor is level-triggered and calls again while data remains.
 *
 * Lifetime: capture_init -> capture_read ... (until it returns true) ->
 * capture_take (moves the bytes out) -> capture_release. capture_release
 * closes the fd if it is still open and frees the bytes not taken.
 */
#ifndef CONTAINER_CAPTURE_H
#define CONTAINER_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Bytes read from one pipe per capture_read() call, at most. */
#define CAPTURE_READ_BUDGET (256u << 10)

/* What a job wrote to one stream, as handed to the executor's caller.
 * data is NULL when len is 0, otherwise NUL-terminated (the NUL is not
 * counted in len; the bytes themselves may contain NULs). free() it. */
struct captured {
	char *data;
	size_t len;
	uint64_t truncated;   /* bytes written beyond the limit and dropped */
};

struct capture {
	int fd;               /* read end, non-blocking; -1 once closed */
	bool eof;             /* the stream ended (EOF or a read error) */
	size_t limit;         /* bytes to keep */
	struct buf kept;      /* the first min(limit, written) bytes */
	uint64_t truncated;   /* bytes read and dropped */
};

/* Starts capturing from fd (which the capture now owns) keeping up to limit
 * bytes. fd must be non-blocking. */
void capture_init(struct capture *c, int fd, size_t limit);

/* Reads what the pipe holds, up to CAPTURE_READ_BUDGET bytes. Returns true
 * once the stream has ended (EOF, or a read error, which is logged and
 * treated as the end): c->eof is then set, and the caller stops watching
 * c->fd and calls capture_close(). */
bool capture_read(struct capture *c);

/* Closes the fd (if open) without waiting for the end of the stream. */
void capture_close(struct capture *c);

/* Moves the captured bytes and the truncation count into *out, leaving the
 * capture empty. */
void capture_take(struct capture *c, struct captured *out);

/* Closes the fd if open and frees whatever was not taken. */
void capture_release(struct capture *c);

/* Frees out->data and zeroes *out. */
void captured_release(struct captured *out);

#endif
