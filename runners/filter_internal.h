/*
 * filter_internal: the parsed tree, shared by filter_parse.c (builds it) and
 * filter.c (evaluates, prints and frees it), and the parser's helpers in
 * filter_lex.c. Not for use outside the module.
 */
#ifndef RUNNERS_FILTER_INTERNAL_H
#define RUNNERS_FILTER_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/cleanup.h"

#include "runners/filter.h"

/* Deepest tree filter_parse() builds, so evaluation and printing (which
 * recurse) stay well inside the stack. */
#define FILTER_MAX_DEPTH 1000

enum filter_kind {
	FK_OR,       /* left || right */
	FK_AND,      /* left && right */
	FK_DIFF,     /* left && !right */
	FK_NOT,      /* !left */
	FK_CONST,    /* all/any/true (value true), none/false (value false) */
	FK_SIMPLE,   /* a flavor simple selector: asks the simple callback */
	FK_MATCH,    /* selector.matcher(param) on a string value */
	FK_MEMBER,   /* list selector .contains(param): membership */
};

enum filter_matcher {
	FM_EQUALS,
	FM_CONTAINS,
	FM_STARTS_WITH,
	FM_ENDS_WITH,
	FM_MATCHES,
	FM_GLOBS,
};

/* Full matcher names, indexed by enum filter_matcher; NULL-terminated. */
extern const char *const filter_matcher_names[];

struct filter {
	enum filter_kind kind;
	unsigned depth;                /* 1 for a leaf, else 1 + deepest child */
	struct filter *left, *right;   /* FK_OR/AND/DIFF: both; FK_NOT: left */
	const char *name;              /* selector's full name (static or flavor's) */
	bool value;                    /* FK_CONST */
	bool also_simple;              /* FK_MATCH: `name` is a simple selector too */
	enum filter_matcher matcher;   /* FK_MATCH, FK_MEMBER (FM_CONTAINS) */
	char *param;                   /* FK_MATCH, FK_MEMBER: owned */
	char open, close;              /* the argument's delimiters, for printing */
	bool has_regex;
	regex_t regex;                 /* FM_MATCHES */
	struct glob *glob;             /* FM_GLOBS: owned */
};

/* ---- parser state and helpers (filter_lex.c) ---------------------------- */

struct parser {
	const char *text;
	size_t pos;                     /* byte offset of the next token */
	const struct filter_flavor *fl;
	struct err **err;
	unsigned nest;                  /* open parentheses and `!`s being parsed */
};

/* Built-in simple selectors, and the binary word operators (NULL-terminated). */
extern const char *const fp_builtin_true[];   /* all, any, true */
extern const char *const fp_builtin_false[];  /* none, false */
extern const char *const fp_binop_words[];    /* and, or, minus */

/* A set of names: up to five NULL-terminated arrays (NULL ones skipped). */
struct names {
	const char *const *v[5];
};

/* Iterates s over every name of *ns (i and j are loop variables). */
#define NAMES_FOR_EACH(ns, i, j, s)                                            \
	for (size_t i = 0; i < ARRAY_SIZE((ns)->v); i++)                       \
		for (size_t j = 0; (ns)->v[i] && ((s) = (ns)->v[i][j]); j++)

/* Most names fp_resolve() reports. */
#define MAX_MATCHES 16

/* Names allowed as a bare word (built-in and flavor simple selectors), before
 * `.` (compound and list selectors), and all of them (for messages). */
struct names fp_simple_names(const struct filter_flavor *fl);
struct names fp_compound_names(const struct filter_flavor *fl);
struct names fp_all_names(const struct filter_flavor *fl);

/* Whether s is in the NULL-terminated array v (which may be NULL). */
bool fp_in_list(const char *const *v, const char *s);

/* Sets "filter `TEXT`: <formatted>" in p->err. Returns NULL. */
void *fp_fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1-based column of byte offset `at`, counting UTF-8 characters. */
size_t fp_col(const struct parser *p, size_t at);

/* Word characters are [A-Za-z0-9_]; the length of the word at `at`. */
bool fp_is_word_char(char c);
size_t fp_word_len(const struct parser *p, size_t at);

/* Describes the token at `at` for "found ...", as "`tok`" or "the end of
 * the filter", using out (of size n) as storage. */
const char *fp_describe(const struct parser *p, size_t at, char *out, size_t n);

/* Appends "a, b, c", each distinct name once. */
void fp_join_names(struct buf *b, const struct names *ns);

/* The names word w (length wl) may stand for, into m (MAX_MATCHES room):
 * the exact name if there is one, else every distinct name it prefixes.
 * Returns how many. */
size_t fp_resolve(const struct names *ns, const char *w, size_t wl, const char **m);

/* The name closest to w if close enough to be a likely typo, else NULL. */
const char *fp_suggest(const struct names *ns, const char *w, size_t wl);

/* Sets "unknown KIND `w` at column N (did you mean `x`?); LABEL: names". */
void *fp_fail_unknown(struct parser *p, const char *kind, size_t at, size_t wl,
		      const struct names *ns, const char *choices_label);

/* Sets "ambiguous KIND `w` at column N: could be `a` or `b`". */
void *fp_fail_ambiguous(struct parser *p, const char *kind, size_t at, size_t wl,
			const char **m, size_t n);

/* Moves p->pos past whitespace. */
void fp_skip_ws(struct parser *p);

/* Whether the word at `at` is followed (after whitespace) by `.`. */
bool fp_word_then_dot(const struct parser *p, size_t at);

#endif
