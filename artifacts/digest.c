#include "artifacts/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/cleanup.h"
#include "core/hex.h"

struct digest_state {
	XXH3_state_t *xxh;
};

static void digest_from_xxh(XXH128_hash_t h, struct digest *out)
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, h);
	_Static_assert(sizeof(c.digest) == sizeof(out->bytes), "digest size");
	memcpy(out->bytes, c.digest, sizeof(out->bytes));
}

void digest_to_hex(const struct digest *d, char out[DIGEST_HEX_LEN + 1])
{
	static const char hexdigits[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(d->bytes); i++) {
		out[2 * i] = hexdigits[d->bytes[i] >> 4];
		out[2 * i + 1] = hexdigits[d->bytes[i] & 0xf];
	}
	out[DIGEST_HEX_LEN] = '\0';
}

int digest_from_hex(const char *hex, struct digest *out)
{
	struct digest d;
	if (!hex)
		return -1;
	for (size_t i = 0; i < sizeof(d.bytes); i++) {
		int hi = hex_digit_value(hex[2 * i]);
		if (hi < 0)
			return -1;
		int lo = hex_digit_value(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		d.bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[DIGEST_HEX_LEN] != '\0')
		return -1;
	*out = d;
	return 0;
}

bool digest_equal(const struct digest *a, const struct digest *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

struct digest_state *digest_state_new(void)
{
	struct digest_state *s = malloc(sizeof(*s));
	if (!s)
		abort();
	s->xxh = XXH3_createState();
	if (!s->xxh)
		abort();
	if (XXH3_128bits_reset(s->xxh) != XXH_OK)
		abort(); /* only fails on a NULL state */
	return s;
}

void digest_state_free(struct digest_state *s)
{
	if (!s)
		return;
	XXH3_freeState(s->xxh);
	free(s);
}

void digest_state_update(struct digest_state *s, const void *data, size_t len)
{
	if (len == 0)
		return;
	XXH3_128bits_update(s->xxh, data, len);
}

void digest_state_final(struct digest_state *s, struct digest *out)
{
	digest_from_xxh(XXH3_128bits_digest(s->xxh), out);
}

void digest_bytes(const void *data, size_t len, struct digest *out)
{
	digest_from_xxh(XXH3_128bits(data, len), out);
}

int digest_fd(int fd, struct digest *out, struct err **err)
{
	enum { CHUNK = 128 * 1024 };
	_cleanup_free_ uint8_t *buf = malloc(CHUNK);
	if (!buf)
		abort();
	struct digest_state *s = digest_state_new();
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			digest_state_free(s);
			return err_set(err, saved, "cannot read data to hash it");
		}
		if (n == 0)
			break;
		digest_state_update(s, buf, (size_t)n);
	}
	digest_state_final(s, out);
	digest_state_free(s);
	return 0;
}

int digest_path(const char *path, struct digest *out, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s to hash it", path);
	if (digest_fd(fd, out, err) < 0)
		return err_wrap(err, "%s", path);
	return 0;
}
