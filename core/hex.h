/*
 * hex: reading hexadecimal digits, as the parsers of digests, TOML escapes
 * and HTTP percent-encoding do. Case-insensitive; nothing else is a digit.
 */
#ifndef CORE_HEX_H
#define CORE_HEX_H

/* The value (0 to 15) of the hex digit c, or -1 when c is not one (as for
 * -1, end of input). */
static inline int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
