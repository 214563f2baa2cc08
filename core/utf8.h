/*
 * utf8: the few UTF-8 facts the readers and writers of text share (RFC
 * 3629): how long a sequence is, whether bytes form a valid one, and how a
 * code point is encoded.
 *
 * "Valid" is strict: no overlong forms, no surrogates (U+D800-U+DFFF),
 * nothing above U+10FFFF. Nothing here allocates or fails.
 */
#ifndef CORE_UTF8_H
#define CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Longest encoding of one code point, in bytes. */
#define UTF8_MAX 4

/* Length of the sequence whose lead byte is c, for text already known to
 * be valid: 1 for ASCII, else 2, 3 or 4 from the lead byte's high bits. */
size_t utf8_seq_len(unsigned char c);

/* Length (1 to 4) of the valid sequence at p[0..avail), or 0 when the
 * bytes there are not one (a stray continuation byte, a bad lead byte, an
 * overlong form, a surrogate, a code point above U+10FFFF, or a sequence
 * cut short by avail). avail must be at least 1. */
size_t utf8_valid_len(const unsigned char *p, size_t avail);

/* Writes the encoding of cp (a Unicode scalar value: at most U+10FFFF and
 * not a surrogate) to out and returns its length, 1 to UTF8_MAX. */
size_t utf8_encode(uint32_t cp, char out[UTF8_MAX]);

#endif
