/*
 * digest: the name of an artifact, the XXH3-128 hash of its content.
 *
 * A digest is 16 bytes stored in canonical XXH128 order (the high 64 bits
 * first, each half big-endian), so the hex form is simply the bytes in order:
 * 32 lowercase hex characters, the same text `xxhsum -H2` prints. Digests are
 * plain values: copy them freely, compare them with digest_equal.
 *
 * Streaming: digest_state_new, then any number of digest_state_update calls,
 * then digest_state_final (which may be called again after more updates; it
 * does not consume the state), then digest_state_free.
 *
 * Hashing identifies content; it is not a cryptographic commitment. Nothing
 * here allocates except digest_state_new, which aborts on out-of-memory.
 */
#ifndef ARTIFACTS_DIGEST_H
#define ARTIFACTS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct digest {
	uint8_t bytes[16]; /* XXH3-128 of the content, canonical order */
};

#define DIGEST_HEX_LEN 32

/* Writes the 32 lowercase hex characters and a terminating NUL into out. */
void digest_to_hex(const struct digest *d, char out[DIGEST_HEX_LEN + 1]);

/* Parses exactly 32 hex characters (either case) followed by the end of the
 * string. Returns 0, or -1 (out untouched) for anything else. */
int digest_from_hex(const char *hex, struct digest *out);

bool digest_equal(const struct digest *a, const struct digest *b);

/* Incremental hashing of content that arrives in pieces. */
struct digest_state;

/* A fresh state for empty content. Never NULL (aborts on out-of-memory). */
struct digest_state *digest_state_new(void);

/* Frees the state. Safe on NULL. */
void digest_state_free(struct digest_state *s);

/* Appends len bytes of content. */
void digest_state_update(struct digest_state *s, const void *data, size_t len);

/* The digest of everything appended so far. */
void digest_state_final(struct digest_state *s, struct digest *out);

/* The digest of one buffer. */
void digest_bytes(const void *data, size_t len, struct digest *out);

/* Hashes everything from fd's current offset to end of file, retrying short
 * reads and EINTR. Returns 0, or -1 with *err set on a read error. */
int digest_fd(int fd, struct digest *out, struct err **err);

/* Hashes the file at path. Returns 0, or -1 with *err naming the path. */
int digest_path(const char *path, struct digest *out, struct err **err);

#endif
