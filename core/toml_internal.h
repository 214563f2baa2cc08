/*
 * toml_internal: the pieces shared by the TOML reader's files (not for use
 * outside core/toml*.c).
 *
 *   toml.c        the node tree (values, their positions and the flags the
 *                 redefinition rules need) and the public toml_doc API;
 *   toml_lex.c    the cursor over the text, error messages with positions,
 *                 the text check (UTF-8, control characters), keys, strings;
 *   toml_scalar.c booleans and numbers (and the refused dates, inf, nan);
 *   toml_parse.c  the document: key/value lines, headers, arrays, inline
 *                 tables and TOML's rules on defining things once.
 *
 * Every node owns one reference to its json value; a table or array node's
 * children are also held by its json value, so the jansson tree stays whole
 * after the nodes are freed if someone holds a reference to it.
 */
#ifndef CORE_TOML_INTERNAL_H
#define CORE_TOML_INTERNAL_H

#include <jansson.h>
#include <locale.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

struct err;

/* Deepest nesting of tables and arrays accepted (keeps recursion bounded). */
#define TOML_MAX_DEPTH 128

enum tnode_kind {
	TN_TABLE,
	TN_ARRAY,
	TN_VALUE,
};

/* How a table or array came to be; decides what may later extend it. */
enum {
	TF_HEADER = 1,    /* table defined by its own [header] */
	TF_IMPLICIT = 2,  /* table created by a header prefix ([a.b] creates a) */
	TF_DOTTED = 4,    /* table created by a dotted key (a.b = 1 creates a) */
	TF_FROZEN = 8,    /* inline table or static array: complete once closed */
	TF_AOT = 16,      /* array created by [[header]] */
};

struct tnode;

struct tkid {
	char *key;          /* owned; NULL for array elements */
	size_t keylen;      /* keys may hold NULs (from \u0000) */
	struct tnode *node; /* owned */
};

struct tnode {
	enum tnode_kind kind;
	unsigned flags;
	unsigned line, col;  /* where the value (or its header) starts */
	unsigned depth;      /* root 0, its entries 1, ... */
	json_t *json;        /* one reference owned */
	size_t n, cap;
	struct tkid *kids;   /* entries in order (tables and arrays) */
};

/* A node for json (the reference is stolen). Aborts when json is NULL
 * (jansson's out of memory). */
struct tnode *tnode_new(enum tnode_kind kind, json_t *json, unsigned line, unsigned col,
			unsigned depth);
void tnode_free(struct tnode *n);
/* The table entry named key, or NULL. */
struct tnode *tnode_get(const struct tnode *table, const char *key, size_t keylen);
/* Adds a new entry (key copied, child owned by the table from now on). */
void tnode_set(struct tnode *table, const char *key, size_t keylen, struct tnode *child);
/* Appends an element (owned by the array from now on). */
void tnode_push(struct tnode *array, struct tnode *child);

/* The cursor over the text. `col` counts code points. */
struct tlex {
	const char *p, *end;
	unsigned line, col;
	const char *filename;
	struct err **err;
	locale_t cloc;       /* "C" numeric locale for strtod_l, made on demand */
};

/* One part of a dotted key, decoded, with the position where it starts. */
struct tkey_part {
	char *text;
	size_t len;
	unsigned line, col;
};

struct tkey {
	struct tkey_part *parts;
	size_t n, cap;
};

void tlex_init(struct tlex *l, const char *text, size_t len, const char *filename,
	       struct err **err);
void tlex_release(struct tlex *l);

/* The byte at the cursor (or k bytes on), -1 at the end. */
int tlex_peek(const struct tlex *l);
int tlex_peek_at(const struct tlex *l, size_t k);
/* Moves past n bytes, keeping line and column. */
void tlex_adv(struct tlex *l, size_t n);
/* True at "\n" or "\r\n". */
bool tlex_at_newline(const struct tlex *l);

/* Records "FILE:LINE:COL: <message>" in *l->err. Returns -1. */
int tlex_error_at(struct tlex *l, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int tlex_error(struct tlex *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "end of file", "end of line" or the character at the cursor in backticks;
 * buf must hold 16 bytes. */
const char *tlex_describe(const struct tlex *l, char *buf);

/* Checks the whole text: UTF-8, no control characters other than tab and
 * newlines, no carriage return outside CRLF. Skips a byte-order mark. */
int tlex_check_text(struct tlex *l);

/* Skips spaces and tabs. */
void tlex_skip_ws(struct tlex *l);
/* Skips whitespace, newlines and comments (inside arrays and inline tables). */
void tlex_skip_blank(struct tlex *l);
/* Expects the end of a line: whitespace, an optional comment, then a newline
 * (consumed) or the end of the text. `after` names what came before it. */
int tlex_eol(struct tlex *l, const char *after);

/* Reads a dotted key and the whitespace after it. */
int tlex_key(struct tlex *l, struct tkey *k);
void tkey_release(struct tkey *k);
/* The key parts [0, n) as written in a message: bare parts as they are,
 * others quoted. The result is malloc'ed. */
char *tkey_render(const struct tkey *k, size_t n);

/* Reads a string starting at the cursor (at `"` or `'`) into out. Multi-line
 * forms are accepted only when allow_multi is true. */
int tlex_string(struct tlex *l, struct buf *out, bool allow_multi);

/* Reads a boolean or number at the cursor into *out. Returns 1 (nothing
 * consumed) when no value starts here, -1 on error. */
int tlex_scalar(struct tlex *l, json_t **out);

/* Parses a whole document into a root table node (toml_parse's worker). */
int toml_parse_text(const char *text, size_t len, const char *filename, struct tnode **out,
		    struct err **err);

#endif
