/*
 * buf: a growable byte buffer, for building strings and queueing I/O.
 *
 *     struct buf b = BUF_INIT;
 *     buf_appendf(&b, "layer %zu of %zu", i, n);
 *     buf_append(&b, data, len);
 *     write(fd, b.data, b.len) ... buf_consume(&b, written);
 *     buf_release(&b);
 *
 * Invariants: data[0..len) holds the bytes; whenever cap > 0, data[len] is a
 * NUL, so b.data is usable as a C string (bytes may themselves contain NULs).
 * A buffer with cap == 0 has data == NULL and len == 0. Pointers into data are
 * invalidated by any call that may grow the buffer, and by buf_consume.
 *
 * The buffer owns data until buf_detach hands it to the caller (free it with
 * free()). Allocation failure aborts (out of memory); no function here fails
 * otherwise.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;   /* cap counts the byte kept for the trailing NUL */
};

#define BUF_INIT { NULL, 0, 0 }

/* Makes an empty buffer (no allocation). */
void buf_init(struct buf *b);

/* Frees the memory and leaves an empty buffer, ready for reuse. */
void buf_release(struct buf *b);

/* Ensures room for `extra` more bytes (plus the NUL) without reallocation. */
void buf_reserve(struct buf *b, size_t extra);

/* Appends n bytes (which may contain NULs). n == 0 is allowed. */
void buf_append(struct buf *b, const void *data, size_t n);

/* Appends a NUL-terminated string, without its NUL. */
void buf_appends(struct buf *b, const char *s);

/* Appends printf-formatted text (nothing if vsnprintf itself fails). */
void buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vappendf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drops the first n bytes (all of them when n >= len), moving the rest to the
 * front: the read side of an output queue. Keeps the memory. */
void buf_consume(struct buf *b, size_t n);

/* Empties the buffer, keeping its memory for reuse. */
void buf_reset(struct buf *b);

/* Hands the NUL-terminated contents to the caller (never NULL, "" for an
 * empty buffer; free() it) and leaves the buffer empty. If len is not NULL it
 * receives the length. */
char *buf_detach(struct buf *b, size_t *len);

#endif
