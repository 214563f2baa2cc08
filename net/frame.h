/*
 * frame: the wire framing. One frame = a 4-byte big-endian length, then that
 * many bytes holding one protobuf-encoded maelstrom.Envelope
 * (net/proto/maelstrom.proto).
 *
 * The decoder is incremental: feed it whatever bytes arrived, take out
 * complete frames. A length over the limit is refused before any of the
 * frame is buffered, so a peer cannot make us allocate what it claims.
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
	struct buf in;        /* bytes received and not yet consumed */
	uint32_t limit;       /* largest frame body accepted */
};

void frame_decoder_init(struct frame_decoder *d, uint32_t limit);
void frame_decoder_release(struct frame_decoder *d);

/* Appends received bytes. */
void frame_decoder_feed(struct frame_decoder *d, const void *data, size_t len);

/* Takes the next complete frame out: returns 1 and sets *body / *len (valid
 * until the next call on d), 0 when no complete frame is buffered yet, or -1
 * with *err set when the length exceeds the limit ("frame of N bytes exceeds
 * the limit of M bytes"); after -1 the stream is unusable. */
int frame_decoder_next(struct frame_decoder *d, const uint8_t **body, size_t *len,
		       struct err **err);

/* Bytes buffered beyond the frames taken out (for raw-mode hand-over: see
 * net/conn.h). frame_decoder_take_rest moves them into out. */
size_t frame_decoder_pending(const struct frame_decoder *d);
void frame_decoder_take_rest(struct frame_decoder *d, struct buf *out);

/* Appends one frame (header + body) to out. */
void frame_encode(struct buf *out, const void *body, size_t len);

#endif
