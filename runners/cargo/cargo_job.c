/*
 * cargo_job: directives + the test binary's layers + its command line.
 * See cargo_job.h.
 */
#include "runners/cargo/cargo_job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/strv.h"
#include "core/xalloc.h"
#include "runners/cargo/cargo_list.h"
#include "runners/cargo/cargo_meta.h"

/* ---- the filter's view of a test case -------------------------------------- */

const char *cargo_case_lookup(void *arg, const char *selector)
{
	const struct test_case *tc = arg;
	const char *v = NULL;
	if (strcmp(selector, "name") == 0)
		v = tc->name;
	else if (strcmp(selector, "package") == 0)
		v = tc->package;
	else if (strcmp(selector, "binary") == 0 || strcmp(selector, "test") == 0 ||
		 strcmp(selector, "benchmark") == 0 || strcmp(selector, "example") == 0)
		v = tc->binary;
	return v ? v : "";
}

bool cargo_case_simple(void *arg, const char *selector, bool *known)
{
	const struct test_case *tc = arg;
	*known = true;
	return strcmp(selector, cargo_kind_filter_word(tc->kind)) == 0;
}

/* ---- <build-dir> ------------------------------------------------------------- */

char *cargo_expand_build_dir(const char *path, const char *build_dir)
{
	static const char var[] = "<build-dir>";
	const size_t n = sizeof(var) - 1;
	struct buf b = BUF_INIT;
	buf_appends(&b, "");
	for (const char *p = path; *p;) {
		if (p[0] == '<' && p[1] == '<' && strncmp(p + 1, var, n) == 0) {
			buf_append(&b, var, n);   /* escaped: the text itself */
			p += 1 + n;
		} else if (strncmp(p, var, n) == 0) {
			buf_appends(&b, build_dir);
			p += n;
		} else {
			buf_append(&b, p, 1);
			p++;
		}
	}
	return buf_detach(&b, NULL);
}

static void expand_in(char **s, const char *build_dir)
{
	if (!*s || !strchr(*s, '<'))
		return;
	char *e = cargo_expand_build_dir(*s, build_dir);
	free(*s);
	*s = e;
}

static void expand_layers(struct layer_spec *layers, size_t n, const char *build_dir)
{
	for (size_t i = 0; i < n; i++) {
		struct layer_spec *l = &layers[i];
		expand_in(&l->path, build_dir);
		expand_in(&l->glob, build_dir);
		expand_in(&l->prefix.strip_prefix, build_dir);
		expand_in(&l->prefix.prepend_prefix, build_dir);
		if (l->kind != LAYER_STUBS)
			for (size_t j = 0; j < l->n_paths; j++)
				expand_in(&l->paths[j], build_dir);
	}
}

/* ---- the test binary's layers ------------------------------------------------- */

static struct layer_spec binary_layer(const char *exe, bool shared_libs)
{
	struct layer_spec l = {0};
	const char *paths[] = {exe, NULL};
	l.paths = strv_dup(paths);
	l.n_paths = 1;
	if (shared_libs) {
		l.kind = LAYER_SHARED_LIBS;
		return l;
	}
	l.kind = LAYER_PATHS;
	const char *slash = strrchr(exe, '/');
	l.prefix.strip_prefix = slash && slash != exe ? strndup(exe, (size_t)(slash - exe))
						      : xstrdup("/");
	if (!l.prefix.strip_prefix)
		abort();
	return l;
}

/* Onto `layers`, or onto `added_layers` when they stand on an image's. */
static void push_layers(struct container_spec *c, const char *exe, bool shared_libs)
{
	bool on_image = c->image.name && c->image.use_layers;
	struct layer_spec **list = on_image ? &c->added_layers : &c->layers;
	size_t *n = on_image ? &c->n_added_layers : &c->n_layers;
	size_t add = shared_libs ? 2 : 1;
	struct layer_spec *v = reallocarray(*list, *n + add, sizeof(*v));
	if (!v)
		abort();
	*list = v;
	if (shared_libs)
		v[(*n)++] = binary_layer(exe, true);
	v[(*n)++] = binary_layer(exe, false);
}

static void set_command(struct job_spec *out, const struct cargo_job_ctx *ctx, const char *exe,
			const char *test_name)
{
	const char *base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	if (asprintf(&out->program, "/%s", base) < 0)
		abort();
	const char *head[] = {"--exact", "--nocapture", NULL};
	char **args = strv_dup(head);
	for (size_t i = 0; i < ctx->n_extra_args; i++)
		args = strv_push(args, ctx->extra_args[i]);
	args = strv_push(args, test_name);
	out->arguments = args;
	out->n_arguments = strv_len((const char *const *)args);
}

int cargo_job_make(void *arg, const struct test_case *tc, struct job_spec *out, bool *ignored,
		   struct err **err)
{
	const struct cargo_job_ctx *ctx = arg;
	const struct cargo_case *cc = cargo_case_of(tc);
	*ignored = false;
	if (!cc || !cc->executable || !tc->name)
		return err_set(err, EINVAL, "test %s has no test binary", tc->display);
	struct directive_result res;
	if (directives_apply(ctx->directives, cargo_case_lookup, cargo_case_simple, (void *)tc,
			     &res, err) < 0)
		return -1;
	if (res.ignore) {
		*ignored = true;
		directive_result_release(&res);
		return 0;
	}
	out->container = res.container;
	memset(&res.container, 0, sizeof(res.container));
	expand_layers(out->container.layers, out->container.n_layers, ctx->build_dir);
	expand_layers(out->container.added_layers, out->container.n_added_layers,
		      ctx->build_dir);
	push_layers(&out->container, cc->executable, res.include_shared_libraries);
	set_command(out, ctx, cc->executable, tc->name);
	out->timeout_s = res.timeout_s;
	directive_result_release(&res);
	return 0;
}
