/*
 * frame: the wire framing. One frame = a 4-byte big-endian length, then that
 * many bytes holding one protobuf-encoded maelstrom.Envelope
 * (net/proto/maelstrom.proto).
 *
 * The decoder is incremental: feed it whatever bytes arrived, in chunks of
 * any size, and take out complete frames. A length over the limit is refused
 * as soon as the 4-byte header is in, before any of the body is buffered, so
 * a peer cannot make us allocate what it claims. (The decoder never reserves
 * memory from a claimed length: memory grows only with bytes received.)
 *
 * Cost: frames are taken out by advancing a read offset; the consumed prefix
 * is dropped (one memmove of the unconsumed tail) only when it is at least as
 * large as that tail, or for free when everything was consumed. Each received
 * byte is therefore copied O(1) times, however the stream is chunked.
 *
 *     struct frame_decoder d;
 *     frame_decoder_init(&d, FRAME_DEFAULT_LIMIT);
 *     frame_decoder_feed(&d, bytes, n);
 *     while ((r = frame_decoder_next(&d, &body, &len, err)) > 0)
 *         ... msg_decode(body, len, err) ...;
 *     if (r < 0) ... drop the connection ...;
 *     frame_decoder_release(&d);
 */
#ifndef NET_FRAME_H
#define NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define FRAME_HEADER_SIZE 4
#define FRAME_DEFAULT_LIMIT (64u << 20)   /* job results carry up to 2 x inline-limit */

struct frame_decoder {
	struct buf in;        /* bytes received; in.data[pos..in.len) are not
				 yet consumed (private: use the functions) */
	size_t pos;           /* read offset into in */
	uint32_t limit;       /* largest frame body accepted */
};

/* An empty decoder (no allocation) accepting bodies of up to limit bytes. */
void frame_decoder_init(struct frame_decoder *d, uint32_t limit);
/* Frees the buffered bytes; the decoder is empty again (reusable). */
void frame_decoder_release(struct frame_decoder *d);

/* Appends received bytes (len == 0 is allowed). Invalidates a body returned
 * by frame_decoder_next. */
void frame_decoder_feed(struct frame_decoder *d, const void *data, size_t len);

/* Zero-copy feeding, an alternative to frame_decoder_feed: returns room for
 * at least n more bytes to receive into directly (e.g. with read(2)); then
 * frame_decoder_commit(d, got) adds the got <= n bytes actually written.
 * The room is valid until the next call on d, and invalidates a body
 * returned by frame_decoder_next. */
uint8_t *frame_decoder_space(struct frame_decoder *d, size_t n);
void frame_decoder_commit(struct frame_decoder *d, size_t got);

/* Takes the next complete frame out: returns 1 and sets *body / *len (valid
 * until the next call on d), 0 when no complete frame is buffered yet, or -1
 * with *err set when the length exceeds the limit ("frame of N bytes exceeds
 * the limit of M bytes"); after -1 the stream is unusable. */
int frame_decoder_next(struct frame_decoder *d, const uint8_t **body, size_t *len,
		       struct err **err);

/* Bytes buffered beyond the frames taken out (for raw-mode hand-over: see
 * net/conn.h). frame_decoder_take_rest appends them to out and leaves the
 * decoder empty (still usable: it then decodes whatever is fed next). */
size_t frame_decoder_pending(const struct frame_decoder *d);
void frame_decoder_take_rest(struct frame_decoder *d, struct buf *out);

/* Appends one frame (header + body) to out. */
void frame_encode(struct buf *out, const void *body, size_t len);

#endif
