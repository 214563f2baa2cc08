/*
 * cargo_meta: `cargo metadata` parsed and run; the pass-through options.
 * See cargo_meta.h.
 */
#include "runners/cargo/cargo_meta.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strv.h"
#include "core/subprocess.h"
#include "core/xalloc.h"

/* ---- kinds --------------------------------------------------------------- */

enum target_kind cargo_kind_from_word(const char *w)
{
	static const char *const libs[] = {"lib", "rlib", "dylib", "cdylib", "staticlib",
					   "proc-macro"};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (strcmp(w, libs[i]) == 0)
			return TARGET_LIB;
	if (strcmp(w, "bin") == 0)
		return TARGET_BIN;
	if (strcmp(w, "test") == 0)
		return TARGET_TEST;
	if (strcmp(w, "bench") == 0)
		return TARGET_BENCH;
	if (strcmp(w, "example") == 0)
		return TARGET_EXAMPLE;
	return TARGET_NONE;
}

const char *cargo_kind_filter_word(enum target_kind kind)
{
	switch (kind) {
	case TARGET_LIB:
		return "library";
	case TARGET_BIN:
		return "binary";
	case TARGET_TEST:
		return "test";
	case TARGET_BENCH:
		return "benchmark";
	case TARGET_EXAMPLE:
		return "example";
	case TARGET_NONE:
		break;
	}
	return "";
}

/* ---- parsing --------------------------------------------------------------- */

static const char *get_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static enum target_kind kind_of(json_t *kinds)
{
	size_t i;
	json_t *k;
	json_array_foreach(kinds, i, k) {
		if (!json_is_string(k))
			continue;
		enum target_kind kind = cargo_kind_from_word(json_string_value(k));
		if (kind != TARGET_NONE)
			return kind;
	}
	return TARGET_NONE;
}

static int parse_target(json_t *t, struct cargo_target *out, const char *pkg, size_t i,
			struct err **err)
{
	const char *name = get_string(t, "name");
	json_t *kinds = json_object_get(t, "kind");
	if (!name || !json_is_array(kinds))
		return err_set(err, 0, "package `%s` target %zu has no `name` or `kind`", pkg, i);
	out->name = xstrdup(name);
	out->kind = kind_of(kinds);
	/* "test" is absent in old cargos: then every lib, bin and test target is
	 * built by `cargo test`. */
	json_t *test = json_object_get(t, "test");
	if (json_is_boolean(test))
		out->test = json_is_true(test);
	else
		out->test = out->kind == TARGET_LIB || out->kind == TARGET_BIN ||
			    out->kind == TARGET_TEST;
	return 0;
}

static bool is_member(json_t *members, const char *id)
{
	if (!json_is_array(members))
		return true;
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
		if (json_is_string(m) && strcmp(json_string_value(m), id) == 0)
			return true;
	return false;
}

static int parse_package(json_t *p, struct cargo_package *out, size_t i, struct err **err)
{
	const char *name = get_string(p, "name");
	const char *id = get_string(p, "id");
	json_t *targets = json_object_get(p, "targets");
	if (!name || !id || !json_is_array(targets))
		return err_set(err, 0, "package %zu has no `name`, `id` or `targets`", i);
	out->name = xstrdup(name);
	out->id = xstrdup(id);
	const char *manifest = get_string(p, "manifest_path");
	out->manifest_path = manifest ? xstrdup(manifest) : NULL;
	size_t n = json_array_size(targets);
	out->targets = calloc(n ? n : 1, sizeof(*out->targets));
	if (!out->targets)
		abort();
	for (size_t j = 0; j < n; j++) {
		if (parse_target(json_array_get(targets, j), &out->targets[j], name, j, err) < 0)
			return -1;
		out->n_targets++;
	}
	return 0;
}

int cargo_meta_parse(const char *text, size_t len, struct cargo_meta *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	if (!doc)
		return err_set(err, 0, "cargo metadata printed invalid JSON (line %d: %s)",
			       jerr.line, jerr.text);
	int rc = -1;
	const char *root = get_string(doc, "workspace_root");
	const char *target = get_string(doc, "target_directory");
	json_t *packages = json_object_get(doc, "packages");
	if (!root || !target || !json_is_array(packages)) {
		err_set(err, 0, "cargo metadata output lacks `workspace_root`, "
			"`target_directory` or `packages`");
		goto out;
	}
	out->workspace_root = xstrdup(root);
	out->target_dir = xstrdup(target);
	json_t *members = json_object_get(doc, "workspace_members");
	size_t n = json_array_size(packages);
	out->packages = calloc(n ? n : 1, sizeof(*out->packages));
	if (!out->packages)
		abort();
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(packages, i);
		const char *id = get_string(p, "id");
		if (id && !is_member(members, id))
			continue;
		if (parse_package(p, &out->packages[out->n_packages], i, err) < 0) {
			out->n_packages++; /* partly filled: released below */
			goto out;
		}
		out->n_packages++;
	}
	rc = 0;
out:
	json_decref(doc);
	if (rc < 0) {
		err_wrap(err, "reading cargo metadata");
		cargo_meta_release(out);
	}
	return rc;
}

void cargo_meta_release(struct cargo_meta *m)
{
	for (size_t i = 0; i < m->n_packages; i++) {
		struct cargo_package *p = &m->packages[i];
		for (size_t j = 0; j < p->n_targets; j++)
			free(p->targets[j].name);
		free(p->targets);
		free(p->name);
		free(p->id);
		free(p->manifest_path);
	}
	free(m->packages);
	free(m->workspace_root);
	free(m->target_dir);
	memset(m, 0, sizeof(*m));
}

const struct cargo_package *cargo_meta_package_by_id(const struct cargo_meta *m, const char *id)
{
	for (size_t i = 0; i < m->n_packages; i++)
		if (strcmp(m->packages[i].id, id) == 0)
			return &m->packages[i];
	return NULL;
}

const struct cargo_target *cargo_package_target(const struct cargo_package *pkg,
						const char *name, enum target_kind kind)
{
	for (size_t i = 0; i < pkg->n_targets; i++)
		if (pkg->targets[i].kind == kind && strcmp(pkg->targets[i].name, name) == 0)
			return &pkg->targets[i];
	return NULL;
}

/* ---- command lines ------------------------------------------------------ */

static char **push_opt(char **v, const char *flag, const char *value)
{
	if (!value)
		return v;
	char *both = NULL;
	if (asprintf(&both, "%s=%s", flag, value) < 0)
		abort();
	v = strv_push(v, both);
	free(both);
	return v;
}

static char **push_common(char **v, const struct cargo_opts *o)
{
	v = push_opt(v, "--features", o->features);
	if (o->all_features)
		v = strv_push(v, "--all-features");
	if (o->no_default_features)
		v = strv_push(v, "--no-default-features");
	v = push_opt(v, "--manifest-path", o->manifest_path);
	if (o->frozen)
		v = strv_push(v, "--frozen");
	if (o->locked)
		v = strv_push(v, "--locked");
	if (o->offline)
		v = strv_push(v, "--offline");
	return v;
}

static const char *cargo_program(const struct cargo_opts *o)
{
	return o->cargo && *o->cargo ? o->cargo : "cargo";
}

char **cargo_opts_metadata_argv(const struct cargo_opts *o)
{
	const char *head[] = {cargo_program(o), "metadata", "--format-version", "1", "--no-deps",
			      NULL};
	return push_common(strv_dup(head), o);
}

char **cargo_opts_build_argv(const struct cargo_opts *o, const char *const *packages, size_t n)
{
	const char *head[] = {cargo_program(o), "test", "--no-run",
			      "--message-format=json-render-diagnostics", NULL};
	char **v = push_common(strv_dup(head), o);
	v = push_opt(v, "--profile", o->profile);
	v = push_opt(v, "--target", o->target);
	v = push_opt(v, "--target-dir", o->target_dir);
	if (!packages)
		return strv_push(v, "--workspace");
	for (size_t i = 0; i < n; i++) {
		v = strv_push(v, "-p");
		v = strv_push(v, packages[i]);
	}
	return v;
}

char *cargo_build_dir(const char *target_dir, const struct cargo_opts *o)
{
	const char *profile = o->profile ? o->profile : "dev";
	const char *dir = profile;
	if (strcmp(profile, "dev") == 0 || strcmp(profile, "test") == 0)
		dir = "debug";
	else if (strcmp(profile, "bench") == 0)
		dir = "release";
	char *out = NULL;
	int rc = o->target ? asprintf(&out, "%s/%s/%s", target_dir, o->target, dir)
			   : asprintf(&out, "%s/%s", target_dir, dir);
	if (rc < 0)
		abort();
	return out;
}

/* ---- running cargo metadata ------------------------------------------------ */

struct cargo_meta_run {
	struct subprocess *sp;
	cargo_meta_cb *cb;
	void *arg;
};

/* cargo's own message, without the trailing newline, or a status line. */
static char *failure_text(struct subprocess *sp, const struct child_status *st)
{
	size_t n;
	const char *text = subprocess_captured(sp, 2, &n, NULL);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	char status[96];
	subprocess_status_text(st, status, sizeof(status));
	char *msg = NULL;
	int rc = n ? asprintf(&msg, "cargo metadata failed (%s):\n%.*s", status, (int)n, text)
		   : asprintf(&msg, "cargo metadata failed (%s)", status);
	if (rc < 0)
		abort();
	return msg;
}

static void meta_done(struct subprocess *sp, const struct child_status *st, void *arg)
{
	struct cargo_meta_run *run = arg;
	if (st->signaled || st->code != 0) {
		char *msg = failure_text(sp, st);
		run->cb(run->arg, NULL, msg);   /* may free run */
		free(msg);
		return;
	}
	size_t n;
	const char *json = subprocess_captured(sp, 1, &n, NULL);
	struct cargo_meta m;
	struct err *err = NULL;
	if (cargo_meta_parse(json, n, &m, &err) < 0) {
		run->cb(run->arg, NULL, err_msg(err));
		err_free(&err);
		return;
	}
	run->cb(run->arg, &m, NULL);
	cargo_meta_release(&m);
}

struct cargo_meta_run *cargo_meta_run(struct reactor *r, const struct cargo_opts *o,
				      const char *cwd, cargo_meta_cb *cb, void *arg,
				      struct err **err)
{
	struct cargo_meta_run *run = calloc(1, sizeof(*run));
	if (!run)
		abort();
	run->cb = cb;
	run->arg = arg;
	char **argv = cargo_opts_metadata_argv(o);
	struct subprocess_options so = {
		.argv = (const char *const *)argv,
		.cwd = cwd,
		.out = SUBPROCESS_CAPTURE,
		.err = SUBPROCESS_CAPTURE,
		.new_process_group = true,
		.on_done = meta_done,
		.arg = run,
	};
	int rc = subprocess_spawn(&run->sp, r, &so, err);
	strv_free(argv);
	if (rc < 0) {
		free(run);
		err_wrap(err, "cargo metadata");
		return NULL;
	}
	return run;
}

void cargo_meta_run_free(struct cargo_meta_run *run)
{
	if (!run)
		return;
	subprocess_free(run->sp);
	free(run);
}
