/*
 * Shared fixture of the runners/directives unit tests (test_directives.c:
 * built-in texts, fields, filters; test_directives_containers.c: images and
 * named containers; test_directives_errors.c: error messages and files): a
 * fake test with cargo-like fields, and helpers that load directives, apply
 * them, check errors and render the resulting container as JSON.
 *
 * Each test program includes this once; the helpers are marked unused so a
 * program that needs only some of them compiles without warnings.
 */
#ifndef TESTS_UNIT_DIRECTIVES_FIXTURE_H
#define TESTS_UNIT_DIRECTIVES_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/spec_json.h"
#include "runners/directives.h"

#define DEF "(built-in default)"

/* ---- a fake test: cargo-like fields; NULL means "not known" -------------- */

struct tcase {
	const char *package;
	const char *name;
	const char *kind;      /* library, binary, test, benchmark, example */
	const char *target;
	const char *file;      /* pytest */
	const char *markers;   /* pytest, '\n'-joined */
};

static __attribute__((unused)) const char *lookup(void *arg, const char *sel)
{
	const struct tcase *t = arg;
	if (strcmp(sel, "package") == 0)
		return t->package;
	if (strcmp(sel, "name") == 0)
		return t->name;
	if (strcmp(sel, "file") == 0)
		return t->file;
	if (strcmp(sel, "markers") == 0)
		return t->markers;
	if (strcmp(sel, "node_id") == 0)
		return t->name;
	return t->target; /* binary, test, benchmark, example */
}

static __attribute__((unused)) bool simple(void *arg, const char *sel, bool *known)
{
	const struct tcase *t = arg;
	if (!t->kind) {
		*known = false;
		return false;
	}
	return strcmp(t->kind, sel) == 0;
}

static __attribute__((unused)) const struct tcase any_test = { "pkg", "mod::t", "library", "pkg", "t.py", "" };

/* ---- helpers --------------------------------------------------------------- */

static __attribute__((unused)) struct directives *load_fl(const char *text, const struct filter_flavor *fl)
{
	struct directives *d = NULL;
	struct err *e = NULL;
	if (directives_load(&d, NULL, text, fl, &e) < 0)
		fail_msg("unexpected error: %s", err_msg(e));
	assert_non_null(d);
	return d;
}

static __attribute__((unused)) struct directives *load(const char *text)
{
	return load_fl(text, &filter_flavor_cargo);
}

static __attribute__((unused)) void apply(const struct directives *d, const struct tcase *t, struct directive_result *r)
{
	struct err *e = NULL;
	if (directives_apply(d, lookup, simple, (void *)t, r, &e) < 0)
		fail_msg("unexpected apply error: %s", err_msg(e));
}

/* Loads text, applies it to t, returns the result. */
static __attribute__((unused)) void load_apply(const char *text, const struct tcase *t, struct directive_result *r)
{
	struct directives *d = load(text);
	apply(d, t, r);
	directives_free(d);
}

/* Expects loading text to fail with exactly msg. */
static __attribute__((unused)) void check_error_fl(const char *text, const struct filter_flavor *fl, const char *msg)
{
	struct directives *d = (struct directives *)(uintptr_t)1;
	struct err *e = NULL;
	assert_int_equal(directives_load(&d, NULL, text, fl, &e), -1);
	assert_null(d);
	assert_non_null(e);
	if (strcmp(err_msg(e), msg) != 0)
		fail_msg("message:\n  got  %s\n  want %s", err_msg(e), msg);
	err_free(&e);
}

static __attribute__((unused)) void check_error(const char *text, const char *msg)
{
	check_error_fl(text, &filter_flavor_cargo, msg);
}

/* The result's container as canonical job-spec JSON (program "p"). */
static __attribute__((unused)) char *container_json(const struct directive_result *r)
{
	struct job_spec js = { .container = r->container, .program = (char *)"p" };
	json_t *j = job_spec_to_json(&js);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static __attribute__((unused)) void check_container(const struct directive_result *r, const char *want)
{
	char *s = container_json(r);
	if (strcmp(s, want) != 0)
		fail_msg("container:\n  got  %s\n  want %s", s, want);
	free(s);
}

static __attribute__((unused)) const char *env_value(const struct env_spec *e, const char *name)
{
	for (size_t i = 0; i < e->n_vars; i++)
		if (strcmp(e->vars[i].name, name) == 0)
			return e->vars[i].value;
	return NULL;
}

#endif
