#include "core/utf8.h"

size_t utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xE0)
		return 2;
	if (c < 0xF0)
		return 3;
	return 4;
}

size_t utf8_valid_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	/* The second byte's range: narrower after some lead bytes. */
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* no overlong forms */
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		return 0; /* a continuation byte, or C0, C1, F5-FF */
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

size_t utf8_encode(uint32_t cp, char out[UTF8_MAX])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	/* Continuation bytes from the last, six bits each. */
	for (size_t i = n - 1; i > 0; i--) {
		out[i] = (char)(0x80 | (cp & 0x3F));
		cp >>= 6;
	}
	static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
	out[0] = (char)(lead[n] | cp);
	return n;
}
