/*
 * cargo_discover: build, list, hand tests to the engine. See
 * cargo_discover.h.
 */
#include "runners/cargo/cargo_discover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/strv.h"
#include "core/xalloc.h"
#include "runners/cargo/cargo_build.h"
#include "runners/cargo/cargo_list.h"
#include "runners/spec_file.h"

/* A test binary to list, waiting or being listed. */
struct listing {
	struct cargo_discover *d;
	const struct cargo_package *pkg;   /* in d->meta */
	const struct cargo_target *target; /* in d->meta */
	char *exe;
	char *cwd;
	struct cargo_list *l;              /* NULL while waiting */
	struct listing *next;
};

struct cargo_discover {
	struct reactor *r;
	struct engine *e;
	const struct cargo_opts *opts;
	struct cargo_meta meta;
	struct directives *directives;
	char *build_dir;
	struct cargo_job_ctx job;
	struct cargo_meta_run *meta_run;   /* --watch rerun: metadata under way */
	struct cargo_build *build;
	struct listing *waiting, *waiting_tail;
	struct listing *active;
	size_t n_active;
	char **seen;                       /* executables listed in this run */
	bool text_to_stderr;               /* cargo's output to stderr, not the UI */
	bool stopped;
	bool done;                         /* engine_discovery_done was called */
};

/* cargo's output, shown above the progress bar (or on standard error). */
static void show(struct cargo_discover *d, const char *text)
{
	if (!d->text_to_stderr) {
		ui_message(engine_ui(d->e), "%s", text);
		return;
	}
	size_t n = strlen(text);
	fprintf(stderr, "%s%s", text, n && text[n - 1] == '\n' ? "" : "\n");
}

/* ---- what the filters may match ------------------------------------------ */

/* The filter's view before the tests are known: package (and, for a
 * binary, the target) known, everything else unknown. */
struct partial {
	const struct cargo_package *pkg;
	const struct cargo_target *target;   /* NULL: only the package known */
};

static const char *partial_lookup(void *arg, const char *selector)
{
	const struct partial *p = arg;
	if (strcmp(selector, "package") == 0)
		return p->pkg->name;
	if (p->target && strcmp(selector, "name") != 0)
		return p->target->name;   /* a target selector, asked once the kind held */
	return NULL;
}

static bool partial_simple(void *arg, const char *selector, bool *known)
{
	const struct partial *p = arg;
	if (!p->target) {
		*known = false;
		return false;
	}
	*known = true;
	return strcmp(selector, cargo_kind_filter_word(p->target->kind)) == 0;
}

static bool target_may_match(struct engine *e, const struct cargo_package *pkg,
			     const struct cargo_target *t)
{
	struct partial p = {pkg, t};
	return engine_may_match(e, partial_lookup, partial_simple, &p) != FILTER_FALSE;
}

static bool has_tested_target(const struct cargo_package *pkg)
{
	for (size_t i = 0; i < pkg->n_targets; i++)
		if (pkg->targets[i].test)
			return true;
	return false;
}

static bool package_may_match(struct engine *e, const struct cargo_package *pkg)
{
	return has_tested_target(pkg) && target_may_match(e, pkg, NULL);
}

void cargo_print_packages(struct engine *e, const struct cargo_meta *m, FILE *out)
{
	for (size_t i = 0; i < m->n_packages; i++)
		if (package_may_match(e, &m->packages[i]))
			fprintf(out, "%s\n", m->packages[i].name);
}

void cargo_print_binaries(struct engine *e, const struct cargo_meta *m, FILE *out)
{
	for (size_t i = 0; i < m->n_packages; i++) {
		const struct cargo_package *pkg = &m->packages[i];
		for (size_t j = 0; j < pkg->n_targets; j++) {
			const struct cargo_target *t = &pkg->targets[j];
			if (!t->test || t->kind == TARGET_NONE || !target_may_match(e, pkg, t))
				continue;
			if (t->kind == TARGET_LIB)
				fprintf(out, "%s (library)\n", pkg->name);
			else
				fprintf(out, "%s %s (%s)\n", pkg->name, t->name,
					cargo_kind_filter_word(t->kind));
		}
	}
}

/* ---- the spec file ------------------------------------------------------- */

int cargo_load_directives(const char *workspace_root, struct directives **out,
			  struct err **err)
{
	return spec_file_load(workspace_root, CARGO_SPEC_FILE, &filter_flavor_cargo, out, err);
}

/* ---- the end of discovery ------------------------------------------------- */

static void maybe_done(struct cargo_discover *d)
{
	if (d->done || d->build || d->meta_run || d->active || d->waiting)
		return;
	d->done = true;
	engine_discovery_done(d->e);
}

/* ---- listings ------------------------------------------------------------- */

static void listing_free(struct listing *li)
{
	cargo_list_free(li->l);
	free(li->exe);
	free(li->cwd);
	free(li);
}

static void unlink_active(struct cargo_discover *d, struct listing *li)
{
	for (struct listing **p = &d->active; *p; p = &(*p)->next)
		if (*p == li) {
			*p = li->next;
			d->n_active--;
			return;
		}
}

static void start_waiting(struct cargo_discover *d);

static void on_listed(void *arg, char **names, char **ignored, const char *error)
{
	struct listing *li = arg;
	struct cargo_discover *d = li->d;
	unlink_active(d, li);
	if (error) {
		engine_discovery_failed(d->e, error);
	} else {
		size_t n = strv_len((const char *const *)names);
		struct test_case **cases = cargo_list_make_cases(
			li->pkg, li->target, li->exe, names, n, ignored,
			strv_len((const char *const *)ignored));
		if (n)
			engine_add_tests(d->e, cases, n);
		free(cases);
	}
	strv_free(names);
	strv_free(ignored);
	listing_free(li);   /* frees the cargo_list from inside its callback */
	start_waiting(d);
	maybe_done(d);
}

static void start_waiting(struct cargo_discover *d)
{
	while (!d->stopped && d->waiting && d->n_active < CARGO_DISCOVER_LISTINGS) {
		struct listing *li = d->waiting;
		d->waiting = li->next;
		if (!d->waiting)
			d->waiting_tail = NULL;
		li->next = d->active;
		d->active = li;
		d->n_active++;
		struct err *err = NULL;
		if (cargo_list_start(&li->l, d->r, li->exe, li->cwd, on_listed, li, &err) < 0) {
			unlink_active(d, li);
			engine_discovery_failed(d->e, err_msg(err));
			err_free(&err);
			listing_free(li);
		}
	}
}

static char *package_dir(const struct cargo_package *pkg)
{
	if (!pkg->manifest_path)
		return NULL;
	const char *slash = strrchr(pkg->manifest_path, '/');
	if (!slash || slash == pkg->manifest_path)
		return NULL;
	char *dir = strndup(pkg->manifest_path, (size_t)(slash - pkg->manifest_path));
	if (!dir)
		abort();
	return dir;
}

static bool seen_before(struct cargo_discover *d, const char *exe)
{
	for (char **s = d->seen; s && *s; s++)
		if (strcmp(*s, exe) == 0)
			return true;
	d->seen = strv_push(d->seen, exe);
	return false;
}

/* ---- the build ------------------------------------------------------------- */

static void on_binary(void *arg, const struct cargo_msg *m)
{
	struct cargo_discover *d = arg;
	const struct cargo_package *pkg = cargo_meta_package_by_id(&d->meta, m->package_id);
	const struct cargo_target *t =
		pkg ? cargo_package_target(pkg, m->target_name, m->target_kind) : NULL;
	if (!t) {
		log_warning("cargo built %s for a target cargo metadata did not list (%s in %s); "
			    "its tests are skipped",
			    m->executable, m->target_name, m->package_id);
		return;
	}
	if (d->stopped || !target_may_match(d->e, pkg, t) || seen_before(d, m->executable))
		return;
	struct listing *li = calloc(1, sizeof(*li));
	if (!li)
		abort();
	li->d = d;
	li->pkg = pkg;
	li->target = t;
	li->exe = xstrdup(m->executable);
	li->cwd = package_dir(pkg);
	if (d->waiting_tail)
		d->waiting_tail->next = li;
	else
		d->waiting = li;
	d->waiting_tail = li;
	start_waiting(d);
}

static void on_text(void *arg, const char *text)
{
	show(arg, text);
}

static void on_built(void *arg, bool ok, const char *message)
{
	struct cargo_discover *d = arg;
	cargo_build_free(d->build);   /* from inside its callback: allowed */
	d->build = NULL;
	if (!ok)
		engine_discovery_failed(d->e, message);
	maybe_done(d);
}

void cargo_discover_start(struct cargo_discover *d)
{
	d->done = false;
	d->stopped = false;
	strv_free(d->seen);
	d->seen = NULL;
	const char **packages = calloc(d->meta.n_packages + 1, sizeof(*packages));
	if (!packages)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < d->meta.n_packages; i++)
		if (package_may_match(d->e, &d->meta.packages[i]))
			packages[n++] = d->meta.packages[i].name;
	if (n == 0) {
		free(packages);
		maybe_done(d);
		return;
	}
	bool all = n == d->meta.n_packages;
	char **argv = cargo_opts_build_argv(d->opts, all ? NULL : packages, n);
	free(packages);
	struct cargo_build_cbs cbs = {on_binary, on_text, on_built};
	struct err *err = NULL;
	/* In our own directory, like `cargo metadata`: a relative --manifest-path
	 * is the user's. */
	if (cargo_build_start(&d->build, d->r, (const char *const *)argv, NULL, &cbs, d,
			      &err) < 0) {
		engine_discovery_failed(d->e, err_msg(err));
		err_free(&err);
		d->build = NULL;
	}
	strv_free(argv);
	maybe_done(d);
}

/* ---- lifetime and reruns ----------------------------------------------------- */

static void set_meta(struct cargo_discover *d, struct cargo_meta *meta)
{
	cargo_meta_release(&d->meta);
	d->meta = *meta;
	memset(meta, 0, sizeof(*meta));
	free(d->build_dir);
	d->build_dir = cargo_build_dir(d->opts->target_dir ? d->opts->target_dir
							    : d->meta.target_dir,
				       d->opts);
	d->job.build_dir = d->build_dir;
}

struct cargo_discover *cargo_discover_new(struct reactor *r, const struct cargo_opts *opts,
					  struct cargo_meta *meta, struct directives *dirs,
					  const char *const *extra_args, size_t n_extra_args)
{
	struct cargo_discover *d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	d->r = r;
	d->opts = opts;
	d->directives = dirs;
	d->job.directives = dirs;
	d->job.extra_args = extra_args;
	d->job.n_extra_args = n_extra_args;
	set_meta(d, meta);
	return d;
}

void cargo_discover_attach(struct cargo_discover *d, struct engine *e, bool text_to_stderr)
{
	d->e = e;
	d->text_to_stderr = text_to_stderr;
}

int cargo_discover_job(void *arg, const struct test_case *tc, struct job_spec *out,
		       bool *ignored, struct err **err)
{
	struct cargo_discover *d = arg;
	return cargo_job_make(&d->job, tc, out, ignored, err);
}

static void on_rerun_meta(void *arg, struct cargo_meta *m, const char *error)
{
	struct cargo_discover *d = arg;
	cargo_meta_run_free(d->meta_run);   /* from inside its callback: allowed */
	d->meta_run = NULL;
	if (!m) {
		engine_discovery_failed(d->e, error);
		maybe_done(d);
		return;
	}
	struct directives *dirs = NULL;
	struct err *err = NULL;
	if (cargo_load_directives(m->workspace_root, &dirs, &err) < 0) {
		engine_discovery_failed(d->e, err_msg(err));
		err_free(&err);
		maybe_done(d);
		return;
	}
	directives_free(d->directives);
	d->directives = dirs;
	d->job.directives = dirs;
	set_meta(d, m);
	cargo_discover_start(d);
}

void cargo_discover_rerun(void *arg)
{
	struct cargo_discover *d = arg;
	d->done = false;
	d->stopped = false;
	struct err *err = NULL;
	d->meta_run = cargo_meta_run(d->r, d->opts, NULL, on_rerun_meta, d, &err);
	if (!d->meta_run) {
		engine_discovery_failed(d->e, err_msg(err));
		err_free(&err);
		maybe_done(d);
	}
}

void cargo_discover_stop(struct cargo_discover *d)
{
	if (!d)
		return;
	d->stopped = true;
	cargo_meta_run_free(d->meta_run);
	d->meta_run = NULL;
	cargo_build_free(d->build);
	d->build = NULL;
	while (d->active) {
		struct listing *li = d->active;
		d->active = li->next;
		listing_free(li);
	}
	d->n_active = 0;
	while (d->waiting) {
		struct listing *li = d->waiting;
		d->waiting = li->next;
		listing_free(li);
	}
	d->waiting_tail = NULL;
}

void cargo_discover_free(struct cargo_discover *d)
{
	if (!d)
		return;
	cargo_discover_stop(d);
	directives_free(d->directives);
	cargo_meta_release(&d->meta);
	strv_free(d->seen);
	free(d->build_dir);
	free(d);
}
