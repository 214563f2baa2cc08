/*
 * toml: a TOML reader for the test runners' spec files (cargo-maelstrom.toml,
 * maelstrom-pytest.toml), producing a jansson tree plus the source position
 * of every value, so that later checks can say "file:line:col: ...".
 *
 *     struct toml_doc *doc = NULL;
 *     if (toml_parse_file("cargo-maelstrom.toml", &doc, err) < 0)
 *         return -1;      // "cargo-maelstrom.toml:12:9: expected `=` ..."
 *     json_t *root = toml_doc_root(doc);
 *     ...
 *     unsigned line, col;
 *     toml_doc_position(doc, "directives/2/layers/0", &line, &col);
 *     ...
 *     toml_doc_free(doc);
 *
 * Mapping to JSON: tables become objects (keys in document order), arrays
 * become arrays, strings strings, integers json integers (64-bit signed),
 * floats reals, booleans true/false. Dates and times are rejected ("dates are
 * not supported here"), and so are inf and nan, which JSON cannot hold.
 *
 * Syntax: TOML 1.0 -- comments, bare/quoted/dotted keys, basic and literal
 * strings (single- and multi-line, escapes \b \t \n \f \r \" \\ \uXXXX
 * \UXXXXXXXX, the line-ending backslash), integers (decimal with `_`,
 * 0x/0o/0b), floats (fraction, exponent), booleans, arrays (multi-line,
 * trailing comma, mixed types), inline tables, [table] and [[array.of.tables]]
 * headers, with TOML's rules against redefinition: a key defined twice, a
 * table defined twice, extending an inline table or a static array, and
 * reopening a table made by dotted keys with a header are all errors. One
 * relaxation from TOML 1.1 is accepted, because the Maelstrom book's own
 * examples use it: an inline table may span lines and end with a comma.
 * The text must be UTF-8 (a leading byte-order mark is skipped); LF and CRLF
 * line endings are accepted and multi-line strings get LF.
 *
 * Errors: every syntax error reads "FILE:LINE:COL: <what>; <what to do>",
 * e.g. "cargo-maelstrom.toml:3:1: key `timeout` defined twice (first at line
 * 2); remove one of them". Lines and columns count from 1; a column counts
 * characters (code points), a tab as one.
 *
 * Positions: each value's position is where the value starts; a table opened
 * by a [header] (or [[header]]) has the header's position; a table created by
 * a dotted key (`image.name = ...`) has the position of that key part; a table
 * created implicitly by a header prefix ([a.b] creates a) has that header's
 * position until its own header defines it. The root is at 1:1.
 *
 * Ownership: a toml_doc owns its tree. toml_doc_root's result is borrowed
 * and lives until toml_doc_free (json_incref it to keep it longer).
 * Out of memory aborts; nothing else here aborts.
 */
#ifndef CORE_TOML_H
#define CORE_TOML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct err;
struct toml_doc;

/* Parses len bytes of TOML text (need not be NUL-terminated). filename is
 * only used in messages and by toml_doc_filename ("<input>" when NULL). On
 * success stores a new document in *out and returns 0; on a syntax error
 * returns -1 with *out == NULL and *err set to "FILE:LINE:COL: ...". */
int toml_parse(const char *text, size_t len, const char *filename, struct toml_doc **out,
	       struct err **err);

/* Reads and parses the file at path (named by path in messages). Returns -1
 * with *err set if the file cannot be read or does not parse. */
int toml_parse_file(const char *path, struct toml_doc **out, struct err **err);

/* The document as a jansson object (borrowed, never NULL). */
json_t *toml_doc_root(const struct toml_doc *d);

/* Position of the value at a JSON-pointer-like path such as
 * "directives/2/layers/0/paths": array elements by decimal index, table
 * entries by key ("~1" stands for `/` and "~0" for `~` in a key; a leading
 * `/` is optional; "" is the root). When the path goes past what exists (a
 * missing key, an index out of range), the position of the nearest enclosing
 * value that exists is given instead. Returns false only when d is NULL;
 * otherwise sets *line and *col (1-based) and returns true. */
bool toml_doc_position(const struct toml_doc *d, const char *path, unsigned *line, unsigned *col);

/* The filename given to toml_parse/toml_parse_file (never NULL). */
const char *toml_doc_filename(const struct toml_doc *d);

/* Frees the document and its tree. Safe on NULL. */
void toml_doc_free(struct toml_doc *d);

#endif
