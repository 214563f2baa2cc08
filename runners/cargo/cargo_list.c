/*
 * cargo_list: a test binary's `--list --format terse` output, and the test
 * cases made from it. See cargo_list.h.
 */
#include "runners/cargo/cargo_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"
#include "core/subprocess.h"
#include "core/xalloc.h"

/* Standard error kept from a listing, for its failure message. */
#define ERR_LIMIT 4096

int cargo_list_parse_line(const char *line, size_t len, char **name)
{
	static const char suffix[] = ": test";
	size_t n = sizeof(suffix) - 1;
	*name = NULL;
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len <= n || memcmp(line + len - n, suffix, n) != 0)
		return 0;
	*name = strndup(line, len - n);
	if (!*name)
		abort();
	return 1;
}

/* ---- test cases --------------------------------------------------------- */

const struct cargo_case *cargo_case_of(const struct test_case *tc)
{
	return tc->runner_data;
}

static void cargo_case_free(void *p)
{
	struct cargo_case *c = p;
	if (!c)
		return;
	free(c->executable);
	free(c);
}

/* Whether another tested target of pkg shares this one's name. */
static bool name_is_shared(const struct cargo_package *pkg, const struct cargo_target *t)
{
	for (size_t i = 0; i < pkg->n_targets; i++) {
		const struct cargo_target *o = &pkg->targets[i];
		if (o != t && o->test && o->kind != t->kind && strcmp(o->name, t->name) == 0)
			return true;
	}
	return false;
}

static bool in_list(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static struct test_case *make_case(const struct cargo_package *pkg,
				   const struct cargo_target *target, const char *target_id,
				   const char *executable, const char *name, bool ignored)
{
	struct test_case *tc = calloc(1, sizeof(*tc));
	struct cargo_case *cc = calloc(1, sizeof(*cc));
	if (!tc || !cc)
		abort();
	cc->executable = xstrdup(executable);
	tc->package = xstrdup(pkg->name);
	tc->binary = xstrdup(target->name);
	tc->kind = target->kind;
	tc->name = xstrdup(name);
	tc->ignored = ignored;
	int rc = asprintf(&tc->id, "%s::%s::%s", pkg->name, target_id, name);
	if (rc >= 0)
		rc = target->kind == TARGET_LIB
			     ? asprintf(&tc->display, "%s %s", pkg->name, name)
			     : asprintf(&tc->display, "%s %s %s", pkg->name, target->name, name);
	if (rc < 0)
		abort();
	tc->runner_data = cc;
	tc->runner_data_free = cargo_case_free;
	return tc;
}

struct test_case **cargo_list_make_cases(const struct cargo_package *pkg,
					 const struct cargo_target *target,
					 const char *executable, char *const *names, size_t n,
					 char *const *ignored, size_t n_ignored)
{
	if (n == 0)
		return NULL;
	char *target_id = NULL;
	int rc = target->kind != TARGET_LIB && name_is_shared(pkg, target)
			 ? asprintf(&target_id, "%s(%s)", target->name,
				    cargo_kind_filter_word(target->kind))
			 : asprintf(&target_id, "%s", target->name);
	if (rc < 0)
		abort();
	struct test_case **cases = calloc(n, sizeof(*cases));
	if (!cases)
		abort();
	for (size_t i = 0; i < n; i++)
		cases[i] = make_case(pkg, target, target_id, executable, names[i],
				     in_list(ignored, n_ignored, names[i]));
	free(target_id);
	return cases;
}

/* ---- running a listing ------------------------------------------------------ */

struct cargo_list {
	struct reactor *r;
	struct subprocess *sp;
	char *executable;
	char *cwd;
	bool second;          /* running the --ignored listing */
	char **names;
	char **ignored;
	cargo_list_cb *cb;
	void *arg;
	bool freed;
	bool in_cb;
};

static void release(struct cargo_list *l)
{
	subprocess_free(l->sp);
	strv_free(l->names);
	strv_free(l->ignored);
	free(l->executable);
	free(l->cwd);
	free(l);
}

static void on_line(struct subprocess *sp, int stream, const char *line, size_t len, void *arg)
{
	struct cargo_list *l = arg;
	(void)sp;
	(void)stream;
	char *name = NULL;
	if (cargo_list_parse_line(line, len, &name) == 1) {
		char ***v = l->second ? &l->ignored : &l->names;
		*v = strv_push(*v, name);
	}
	free(name);
}

static void finish(struct cargo_list *l, const char *error)
{
	char **names = NULL, **ignored = NULL;
	if (!error) {
		names = l->names ? l->names : strv_dup(NULL);
		ignored = l->ignored ? l->ignored : strv_dup(NULL);
		l->names = l->ignored = NULL;
	}
	l->in_cb = true;
	l->cb(l->arg, names, ignored, error);
	l->in_cb = false;
	if (l->freed)
		release(l);
}

static int spawn_listing(struct cargo_list *l, struct err **err);

static void on_done(struct subprocess *sp, const struct child_status *st, void *arg)
{
	struct cargo_list *l = arg;
	if (st->signaled || st->code != 0) {
		char status[96];
		size_t n;
		const char *text = subprocess_captured(sp, 2, &n, NULL);
		while (n && text[n - 1] == '\n')
			n--;
		char *msg = NULL;
		if (asprintf(&msg, "listing the tests of %s failed (%s)%s%.*s", l->executable,
			     subprocess_status_text(st, status, sizeof(status)), n ? ":\n" : "",
			     (int)n, text) < 0)
			abort();
		finish(l, msg);
		free(msg);
		return;
	}
	if (l->second) {
		finish(l, NULL);
		return;
	}
	/* The first listing is done; its handle goes once this callback ends. */
	subprocess_free(l->sp);
	l->sp = NULL;
	l->second = true;
	struct err *err = NULL;
	if (spawn_listing(l, &err) < 0) {
		finish(l, err_msg(err));
		err_free(&err);
	}
}

static int spawn_listing(struct cargo_list *l, struct err **err)
{
	const char *argv[] = {l->executable, "--list", "--format", "terse",
			      l->second ? "--ignored" : NULL, NULL};
	struct subprocess_options so = {
		.argv = argv,
		.cwd = l->cwd,
		.out = SUBPROCESS_LINES,
		.err = SUBPROCESS_CAPTURE,
		.capture_limit = ERR_LIMIT,
		.on_line = on_line,
		.on_done = on_done,
		.arg = l,
	};
	if (subprocess_spawn(&l->sp, l->r, &so, err) < 0)
		return err_wrap(err, "listing the tests");
	return 0;
}

int cargo_list_start(struct cargo_list **out, struct reactor *r, const char *executable,
		     const char *cwd, cargo_list_cb *cb, void *arg, struct err **err)
{
	struct cargo_list *l = calloc(1, sizeof(*l));
	if (!l)
		abort();
	l->r = r;
	l->executable = xstrdup(executable);
	l->cwd = cwd ? xstrdup(cwd) : NULL;
	l->cb = cb;
	l->arg = arg;
	*out = NULL;
	if (spawn_listing(l, err) < 0) {
		release(l);
		return -1;
	}
	*out = l;
	return 0;
}

void cargo_list_free(struct cargo_list *l)
{
	if (!l || l->freed)
		return;
	l->freed = true;
	if (!l->in_cb)
		release(l);
}
