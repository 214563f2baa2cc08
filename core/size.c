#include "core/size.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct size_unit {
	const char *name;
	uint64_t bytes;
};

static const struct size_unit units[] = {
	{ "B", 1 },
	{ "KB", 1000ULL },
	{ "MB", 1000ULL * 1000 },
	{ "GB", 1000ULL * 1000 * 1000 },
	{ "TB", 1000ULL * 1000 * 1000 * 1000 },
	{ "KiB", 1ULL << 10 },
	{ "MiB", 1ULL << 20 },
	{ "GiB", 1ULL << 30 },
	{ "TiB", 1ULL << 40 },
};

#define UNIT_LIST "B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"
/* Fraction digits beyond this cannot change a result below 2^64 bytes. */
#define MAX_FRACTION_DIGITS 18

static const struct size_unit *find_unit(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == len && strncasecmp(units[i].name, name, len) == 0)
			return &units[i];
	}
	return NULL;
}

static int not_a_size(const char *text, struct err **err)
{
	return err_set(err, 0, "`%s` is not a size; write a number with an optional unit, like `1 GB`",
		       text);
}

int size_parse(const char *text, uint64_t *out, struct err **err)
{
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p)
		return err_set(err, 0, "an empty value is not a size; write a number with an optional "
			       "unit, like `1 GB`");
	if (!isdigit((unsigned char)*p))
		return not_a_size(text, err);

	uint64_t whole = 0;
	bool overflow = false;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (whole > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			whole = whole * 10 + d;
	}

	uint64_t frac = 0, frac_div = 1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return not_a_size(text, err);
		for (int n = 0; isdigit((unsigned char)*p); p++, n++) {
			if (n < MAX_FRACTION_DIGITS) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				frac_div *= 10;
			}
		}
	}

	while (*p == ' ' || *p == '\t')
		p++;
	const char *unit_start = p;
	while (isalpha((unsigned char)*p))
		p++;
	size_t unit_len = (size_t)(p - unit_start);
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return not_a_size(text, err);

	uint64_t mult = 1;
	if (unit_len) {
		const struct size_unit *u = find_unit(unit_start, unit_len);
		if (!u)
			return err_set(err, 0, "`%s` is not a size: unknown unit `%.*s`; use " UNIT_LIST,
				       text, (int)unit_len, unit_start);
		mult = u->bytes;
	}

	unsigned __int128 total = (unsigned __int128)whole * mult +
				  (unsigned __int128)frac * mult / frac_div;
	if (overflow || total > UINT64_MAX)
		return err_set(err, 0, "`%s` is too large; the largest size is %" PRIu64 " bytes",
			       text, UINT64_MAX);
	*out = (uint64_t)total;
	return 0;
}

/* The largest unit of the given family (0: decimal, 1: binary) not above
 * bytes, or NULL when bytes is below the family's first multiple. */
static const struct size_unit *largest_unit(uint64_t bytes, int binary)
{
	const struct size_unit *best = NULL;
	for (size_t i = 1; i < sizeof(units) / sizeof(units[0]); i++) {
		bool is_binary = strchr(units[i].name, 'i') != NULL;
		if ((int)is_binary == binary && units[i].bytes <= bytes)
			best = &units[i];
	}
	return best;
}

char *size_format(uint64_t bytes, char *buf)
{
	const struct size_unit *dec = largest_unit(bytes, 0);
	if (!dec) {
		snprintf(buf, SIZE_FORMAT_MAX, "%" PRIu64 " B", bytes);
		return buf;
	}
	if (bytes % dec->bytes == 0) {
		snprintf(buf, SIZE_FORMAT_MAX, "%" PRIu64 " %s", bytes / dec->bytes, dec->name);
		return buf;
	}
	const struct size_unit *bin = largest_unit(bytes, 1);
	if (bin && bytes % bin->bytes == 0) {
		snprintf(buf, SIZE_FORMAT_MAX, "%" PRIu64 " %s", bytes / bin->bytes, bin->name);
		return buf;
	}
	/* One decimal, rounded to nearest, in integer arithmetic so that huge
	 * values do not lose precision in a double. */
	unsigned __int128 tenths = ((unsigned __int128)bytes * 10 + dec->bytes / 2) / dec->bytes;
	if (tenths >= 10000 && dec != &units[4]) {
		/* 999.95 KB rounds to 1000.0 KB: say 1.0 MB instead. */
		dec++;
		tenths = ((unsigned __int128)bytes * 10 + dec->bytes / 2) / dec->bytes;
	}
	snprintf(buf, SIZE_FORMAT_MAX, "%" PRIu64 ".%u %s", (uint64_t)(tenths / 10),
		 (unsigned)(tenths % 10), dec->name);
	return buf;
}
