/*
 * size: byte counts as users write them, and back.
 *
 * The book's configuration values `cache-size = "1 GB"` and
 * `inline-limit = "1 MB"` are sizes. size_parse() accepts
 *
 *     4096          plain bytes
 *     512 B         bytes, with a unit
 *     1KB 1 MB 2 GB 1 TB          powers of 1000
 *     1KiB 8 MiB 1 GiB 2 TiB      powers of 1024
 *     1.5 GB        a decimal fraction (the result is rounded down to
 *                   whole bytes)
 *
 * with optional spaces around the number and between the number and the
 * unit; units are case-insensitive ("gb", "GiB", "kib"). Anything else
 * (negative numbers, unknown units, trailing junk, results above
 * UINT64_MAX bytes) is an error whose message quotes the text, so a caller
 * only has to add where the text came from:
 *
 *     --cache-size: `1 XB` is not a size: unknown unit `XB`; use B, KB, ...
 *
 * size_format() is for humans: "0 B", "999 B", "1 GB", "64 MiB", "1.5 GB".
 * Exact decimal or binary multiples print exactly (and parse back to the
 * same number); anything else prints with one decimal in powers of 1000.
 */
#ifndef CORE_SIZE_H
#define CORE_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Large enough for every size_format() result, including the NUL. */
#define SIZE_FORMAT_MAX 32

/* Parses text (see above) into *out. On failure returns -1, sets *err and
 * leaves *out alone. */
int size_parse(const char *text, uint64_t *out, struct err **err);

/* Writes a human-readable form of bytes into buf (at least
 * SIZE_FORMAT_MAX bytes) and returns buf. */
char *size_format(uint64_t bytes, char *buf);

#endif
