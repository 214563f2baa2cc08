/*
 * filter_internal: the parsed tree, shared by filter_parse.c (builds it) and
 * filter.c (evaluates, prints and frees it). Not for use outside the module.
 */
#ifndef RUNNERS_FILTER_INTERNAL_H
#define RUNNERS_FILTER_INTERNAL_H

#include <regex.h>
#include <stdbool.h>

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

#endif
