/*
 * frame: see net/frame.h. The decoder keeps every received byte in one
 * buffer and a read offset into it; frames are handed out as pointers into
 * that buffer, so a frame body is copied exactly once (on feed) plus at most
 * an amortized O(1) compaction move.
 */
#include "net/frame.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void frame_decoder_init(struct frame_decoder *d, uint32_t limit)
{
	buf_init(&d->in);
	d->pos = 0;
	d->limit = limit;
}

void frame_decoder_release(struct frame_decoder *d)
{
	buf_release(&d->in);
	d->pos = 0;
}

/* Drops the consumed prefix when that is cheap relative to the work already
 * done: free when nothing is left, otherwise only when the prefix is at least
 * as long as the tail that has to move (so each byte moves O(1) times). */
static void compact(struct frame_decoder *d)
{
	if (d->pos == 0)
		return;
	size_t rest = d->in.len - d->pos;
	if (rest == 0) {
		buf_reset(&d->in);
		d->pos = 0;
	} else if (d->pos >= rest) {
		buf_consume(&d->in, d->pos);
		d->pos = 0;
	}
}

void frame_decoder_feed(struct frame_decoder *d, const void *data, size_t len)
{
	if (len == 0)
		return;
	compact(d);
	buf_append(&d->in, data, len);
}

uint8_t *frame_decoder_space(struct frame_decoder *d, size_t n)
{
	compact(d);
	buf_reserve(&d->in, n);
	return (uint8_t *)d->in.data + d->in.len;
}

void frame_decoder_commit(struct frame_decoder *d, size_t got)
{
	if (got == 0)
		return;
	/* A caller's bug: more than frame_decoder_space offered. */
	assert(d->in.cap > 0 && got <= d->in.cap - 1 - d->in.len);
	d->in.len += got;
	d->in.data[d->in.len] = '\0';
}

int frame_decoder_next(struct frame_decoder *d, const uint8_t **body, size_t *len,
		       struct err **err)
{
	size_t avail = d->in.len - d->pos;
	if (avail < FRAME_HEADER_SIZE)
		return 0;
	const uint8_t *p = (const uint8_t *)d->in.data + d->pos;
	uint32_t n = get_be32(p);
	if (n > d->limit)
		return err_set(err, 0, "frame of %" PRIu32 " bytes exceeds the limit of %" PRIu32
			       " bytes", n, d->limit);
	if (avail - FRAME_HEADER_SIZE < n)
		return 0;
	*body = p + FRAME_HEADER_SIZE;
	*len = n;
	d->pos += FRAME_HEADER_SIZE + (size_t)n;
	return 1;
}

size_t frame_decoder_pending(const struct frame_decoder *d)
{
	return d->in.len - d->pos;
}

void frame_decoder_take_rest(struct frame_decoder *d, struct buf *out)
{
	size_t rest = d->in.len - d->pos;
	if (rest > 0) {
		if (out->len == 0 && d->pos == 0) {
			/* Hand the whole buffer over instead of copying it. */
			struct buf old = *out;
			*out = d->in;
			buf_init(&d->in);
			buf_release(&old);
		} else {
			buf_append(out, d->in.data + d->pos, rest);
		}
	}
	buf_reset(&d->in);
	d->pos = 0;
}

void frame_encode(struct buf *out, const void *body, size_t len)
{
	if (len > UINT32_MAX)
		abort(); /* cannot be framed; no peer would accept it anyway */
	uint8_t hdr[FRAME_HEADER_SIZE];
	put_be32(hdr, (uint32_t)len);
	buf_reserve(out, FRAME_HEADER_SIZE + len);
	buf_append(out, hdr, sizeof hdr);
	buf_append(out, body, len);
}
