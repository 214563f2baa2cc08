/*
 * filter: the test-filter pattern language of the Maelstrom book, shared by
 * the cargo and pytest runners (`--include` / `--exclude`, and the `filter`
 * field of directives).
 *
 * Grammar (lowest precedence first; binary operators are left-associative):
 *
 *     pattern  := or
 *     or       := and  { ("|" | "||" | "or") and }
 *     and      := not  { ("&" | "&&" | "and" | "+") not
 *                      | ("\" | "-" | "minus") not }          A - B == A && !B
 *     not      := ("!" | "~" | "not") not  |  simple
 *     simple   := "(" or ")"
 *               | SIMPLE [ "(" ")" ]
 *               | COMPOUND "." MATCHER ARGUMENT
 *
 *   SIMPLE    all, any, true (every test); none, false (no test); plus the
 *             flavor's simple selectors (cargo: library, binary, benchmark,
 *             example, test).
 *   COMPOUND  the flavor's compound selectors (cargo: name, binary,
 *             benchmark, example, test, package; pytest: name, file,
 *             package, node_id) and its list selectors (pytest: markers).
 *   MATCHER   equals, contains, starts_with, ends_with, matches (POSIX
 *             extended regular expression, unanchored search, as regexec()),
 *             globs (core/glob.h syntax, whole-value match; note that `*`
 *             does not cross `/`, use `**` for that).
 *   ARGUMENT  raw text between delimiters, no escapes. `(`, `[`, `{` and `<`
 *             close with their partner `)`, `]`, `}`, `>`, and may nest in
 *             balanced pairs inside (`name.matches((a|b)c)` has argument
 *             `(a|b)c`); any other ASCII punctuation mark except `_` (a
 *             word character) closes with itself (`name.equals/foo/`,
 *             `name.contains"x"`). Empty is allowed.
 *
 * Whitespace may appear between any two tokens. A word is a maximal run of
 * [A-Za-z0-9_]. Selector, matcher and the binary word operators (and, or,
 * minus) may be shortened to any unambiguous prefix of the names allowed at
 * that point: a word followed by `.` is looked up among the compound and list
 * selectors (`n.eq(x)` is `name.equals(x)` even though `none` also starts
 * with `n`), any other word in operand position among the simple selectors.
 * An exact name always wins over longer names it prefixes. `not` must be
 * spelled in full (its prefixes would collide with `none`). Errors name the
 * column (1-based, counted in UTF-8 characters), the candidates of an
 * ambiguous prefix, and a close spelling of an unknown name.
 *
 * Meaning. Evaluation is three-valued (Kleene logic): a selector whose value
 * the caller does not know yet yields FILTER_UNKNOWN, and `and`, `or`, `not`
 * propagate it only when the known parts do not decide the result
 * (`package.equals(a) && name.equals(b)` is FALSE for package `c` even
 * before the test names are known; cargo-maelstrom uses this to pick the
 * packages to build).
 *   - Compound selector: the lookup callback returns the selector's value
 *     (the test's name, package, ...), or NULL when unknown.
 *   - A compound selector that is also one of the flavor's simple selectors
 *     (cargo's binary, benchmark, example, test) means `sel && sel.m(x)`, as
 *     the book says: `binary.equals(foo)` matches only tests in a binary
 *     target named foo. The simple callback is asked first; the lookup's
 *     value is used only when the simple selector holds.
 *   - List selector (pytest's markers): only the `contains` matcher is
 *     allowed, and it tests membership, not substring. The lookup returns
 *     the list joined by '\n' ("" for an empty list; an element therefore
 *     cannot itself hold '\n').
 *   - Flavor simple selector: the simple callback answers; it sets *known to
 *     false when it cannot tell yet. A NULL callback means always unknown.
 *
 * Ownership: filter_parse() returns a heap tree owned by the caller, freed
 * with filter_free(). It compiles regexes and globs once, at parse time, and
 * is immutable afterwards, so one filter may be evaluated from several
 * threads. It keeps pointers to the flavor's selector strings (callbacks
 * receive those very pointers), so the flavor's strings must outlive it;
 * flavors are normally static constants. The filter text is not retained.
 */
#ifndef RUNNERS_FILTER_H
#define RUNNERS_FILTER_H

#include <stdbool.h>

#include "core/err.h"

/* The names a runner gives its selectors. Each list is NULL-terminated and
 * may itself be NULL for "none". A name may appear both in `simple` and in
 * `compound` (see above for what that means). */
struct filter_flavor {
	const char *const *simple;    /* extra simple selectors, e.g. "library" */
	const char *const *compound;  /* string-valued selectors, e.g. "name" */
	const char *const *list;      /* list-valued selectors ("markers"), which
					 take only `contains`; not also in compound */
};

/* The flavors of cargo-maelstrom and maelstrom-pytest. */
extern const struct filter_flavor filter_flavor_cargo;
extern const struct filter_flavor filter_flavor_pytest;

struct filter;

enum filter_value { FILTER_FALSE, FILTER_TRUE, FILTER_UNKNOWN };

/* A compound or list selector's value for the test being evaluated, or NULL
 * when unknown. `selector` is the flavor's full name ("name", "markers"). The
 * string need only stay valid until the next call. */
typedef const char *filter_lookup_fn(void *arg, const char *selector);

/* Whether a flavor simple selector ("library") holds for the test; sets
 * *known to false (it starts true) when the answer is not known yet. */
typedef bool filter_simple_fn(void *arg, const char *selector, bool *known);

/* Parses text against the flavor into *out. On a syntax error, an unknown
 * or ambiguous name, or an invalid regex or glob, returns -1, leaves *out
 * NULL and sets *err to a message of the form
 *     filter `TEXT`: WHAT at column N[ (did you mean `X`?)][; CHOICES]
 */
int filter_parse(const char *text, const struct filter_flavor *fl, struct filter **out,
		 struct err **err);

/* Evaluates f for one test. lookup and simple may be NULL (every selector
 * that needs them is then unknown); arg is passed to both. */
enum filter_value filter_eval(const struct filter *f, filter_lookup_fn *lookup,
			      filter_simple_fn *simple, void *arg);

/* Frees the filter. Safe on NULL. */
void filter_free(struct filter *f);

/* The canonical form: full names, operators spelled `||`, `&&`, `-`, `!`,
 * every binary operand that is itself binary in parentheses, arguments in
 * their original delimiters, e.g.
 *     "p.eq(baz) & n.eq(foobar) | all"
 *     -> "(package.equals(baz) && name.equals(foobar)) || all"
 * It parses back to an equivalent filter. Heap string; free() it. */
char *filter_to_string(const struct filter *f);

#endif
