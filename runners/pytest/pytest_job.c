/*
 * pytest_job: directives + the host's Python + the project + the plugin,
 * and pytest's command line. See pytest_job.h.
 */
#include "runners/pytest/pytest_job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/strv.h"
#include "core/xalloc.h"
#include "runners/engine.h"
#include "runners/pytest/pytest_collect.h"

/* ---- layers ------------------------------------------------------------------- */

void pytest_glob_below(const char *project_dir, const char *dir, char **glob, char **strip)
{
	struct buf ups = BUF_INIT, g = BUF_INIT;
	buf_appends(&ups, "");
	/* One ".." per component of the project directory. */
	for (const char *p = project_dir; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		buf_appends(&ups, ups.len ? "/.." : "..");
		while (*p && *p != '/')
			p++;
	}
	buf_appends(&g, ups.data);
	const char *d = dir;
	while (*d == '/')
		d++;
	if (*d && ups.len)
		buf_appends(&g, "/");
	for (; *d; d++) {
		if (strchr("*?[]{}\\,", *d))
			buf_append(&g, "\\", 1);
		buf_append(&g, d, 1);
	}
	if (g.len && g.data[g.len - 1] != '/')
		buf_appends(&g, "/");
	buf_appends(&g, "**");
	*glob = buf_detach(&g, NULL);
	if (ups.len) {
		*strip = buf_detach(&ups, NULL);
	} else {
		*strip = NULL;
		buf_release(&ups);
	}
}

static struct layer_spec *push_layer(struct container_spec *c, enum layer_kind kind)
{
	struct layer_spec *v = xrealloc(c->layers, (c->n_layers + 1) * sizeof(*v));
	c->layers = v;
	struct layer_spec *l = &v[c->n_layers++];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	if (kind == LAYER_PATHS || kind == LAYER_STUBS || kind == LAYER_SHARED_LIBS)
		l->paths = strv_dup(NULL);
	return l;
}

/* Adds path to a paths-like layer, once. */
static void layer_add_path(struct layer_spec *l, const char *path)
{
	for (size_t i = 0; i < l->n_paths; i++)
		if (strcmp(l->paths[i], path) == 0)
			return;
	l->paths = strv_push(l->paths, path);
	l->n_paths++;
}

static void push_python_layers(struct container_spec *c, const struct pytest_job_ctx *ctx)
{
	const struct pytest_python *py = ctx->python;
	struct layer_spec *l = push_layer(c, LAYER_PATHS);
	layer_add_path(l, py->executable);
	for (char **k = py->links; k && *k; k++)
		layer_add_path(l, *k);
	layer_add_path(l, py->real_executable);
	for (char **f = py->files; f && *f; f++)
		layer_add_path(l, *f);

	l = push_layer(c, LAYER_SHARED_LIBS);
	layer_add_path(l, py->real_executable);
	for (char **x = py->extensions; x && *x; x++)
		layer_add_path(l, *x);

	for (char **d = py->dirs; d && *d; d++) {
		l = push_layer(c, LAYER_GLOB);
		pytest_glob_below(ctx->project_dir, *d, &l->glob, &l->prefix.strip_prefix);
	}
}

void pytest_job_push_layers(struct container_spec *c, const struct pytest_job_ctx *ctx,
			    bool with_python)
{
	if (with_python && ctx->python)
		push_python_layers(c, ctx);

	struct layer_spec *l = push_layer(c, LAYER_GLOB);
	l->glob = xstrdup(PYTEST_PROJECT_GLOB);
	l->prefix.prepend_prefix = xstrdup(ctx->project_dir);

	char *dir = xasprintf("%s/", ctx->project_dir);
	l = push_layer(c, LAYER_STUBS);
	layer_add_path(l, dir);
	free(dir);

	l = push_layer(c, LAYER_PATHS);
	const char *modules[] = {PYTEST_REPORT_PLUGIN, PYTEST_FORK_SERVER_MODULE,
				 PYTEST_ZYGOTE_PLUGIN};
	for (size_t i = 0; i < (ctx->fork_server ? 3u : 1u); i++) {
		char *path = xasprintf("%s/%s.py", ctx->helpers_dir, modules[i]);
		layer_add_path(l, path);
		free(path);
	}
}

/* When the container takes its layers from an image, the layers pushed
 * above belong on top of it: moves `layers` to the end of `added_layers`. */
static void layers_onto_image(struct container_spec *c)
{
	if (!c->image.name || !c->image.use_layers || !c->n_layers)
		return;
	c->added_layers = xrealloc(c->added_layers,
				   (c->n_added_layers + c->n_layers) * sizeof(*c->added_layers));
	memcpy(&c->added_layers[c->n_added_layers], c->layers, c->n_layers * sizeof(*c->layers));
	c->n_added_layers += c->n_layers;
	free(c->layers);
	c->layers = NULL;
	c->n_layers = 0;
}

/* ---- mounts ---------------------------------------------------------------------- */

/* True when path is dir or below it. */
static bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

void pytest_job_unshadow(struct container_spec *c, const char *project_dir)
{
	size_t kept = 0;
	for (size_t i = 0; i < c->n_mounts; i++) {
		struct mount_spec *m = &c->mounts[i];
		if (m->kind == MOUNT_TMP && m->mount_point &&
		    path_within(project_dir, m->mount_point)) {
			mount_spec_release(m);
			c->enable_writable_file_system = true;
			continue;
		}
		c->mounts[kept++] = *m;
	}
	c->n_mounts = kept;
}

/* ---- environment ----------------------------------------------------------------- */

static void add_var(struct env_spec *e, const char *name, char *value)
{
	struct env_var *v = xrealloc(e->vars, (e->n_vars + 1) * sizeof(*v));
	e->vars = v;
	v[e->n_vars].name = xstrdup(name);
	v[e->n_vars].value = value;
	e->n_vars++;
}

static void push_environment(struct container_spec *c, const struct pytest_job_ctx *ctx)
{
	struct env_spec *v = xrealloc(c->environment, (c->n_environment + 1) * sizeof(*v));
	c->environment = v;
	struct env_spec *e = &v[c->n_environment++];
	memset(e, 0, sizeof(*e));
	e->extend = true;
	add_var(e, "PYTHONPATH",
		xasprintf("%s:$prev{PYTHONPATH:-$env{PYTHONPATH:-}}", ctx->helpers_dir));
	add_var(e, "PYTEST_XDIST_AUTO_NUM_WORKERS", xstrdup("1"));
	add_var(e, "PYTHONDONTWRITEBYTECODE", xstrdup("1"));
	char *bindir = xstrdup(ctx->python ? ctx->python->executable : "/usr/bin/python3");
	char *slash = strrchr(bindir, '/');
	if (slash)
		*slash = '\0';
	struct buf path = BUF_INIT;
	buf_appendf(&path, "$prev{PATH:-%s", bindir);
	static const char *const std_dirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
	for (size_t i = 0; i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++)
		if (strcmp(std_dirs[i], bindir) != 0)
			buf_appendf(&path, ":%s", std_dirs[i]);
	buf_appends(&path, "}");
	add_var(e, "PATH", buf_detach(&path, NULL));
	free(bindir);
}

/* ---- the command ------------------------------------------------------------------ */

/* The cold command; run_arg NULL: none (the job of pytest_job_prewarm). */
static void set_command(struct job_spec *out, const struct pytest_job_ctx *ctx,
			const char *program, const char *run_arg)
{
	out->program = xstrdup(program);
	const char *head[] = {"-m", "pytest", "--verbose", "-p", "no:cacheprovider",
			      "-p", PYTEST_REPORT_PLUGIN, NULL};
	char **args = strv_dup(head);
	for (size_t i = 0; i < ctx->n_args; i++)
		args = strv_push(args, ctx->args[i]);
	if (run_arg)
		args = strv_push(args, run_arg);
	out->arguments = args;
	out->n_arguments = strv_len((const char *const *)args);
}

/* The run's zygote (see pytest_job.h): the test's interpreter, pytest with
 * the outcome and zygote plugins, the extra arguments, the files (none
 * when it collects pytest's default). */
static void set_fork_server(struct job_spec *out, const struct pytest_job_ctx *ctx)
{
	struct fork_server_spec *fs = &out->fork_server;
	fs->program = xstrdup(out->program);
	const char *head[] = {"-m", "pytest", "-p", "no:cacheprovider", "-p",
			      PYTEST_REPORT_PLUGIN, "-p", PYTEST_ZYGOTE_PLUGIN, "--verbose", NULL};
	char **args = strv_dup(head);
	for (size_t i = 0; i < ctx->n_args; i++)
		args = strv_push(args, ctx->args[i]);
	for (size_t i = 0; i < ctx->n_files; i++)
		args = strv_push(args, ctx->files[i]);
	fs->arguments = args;
	fs->n_arguments = strv_len((const char *const *)args);
}

char *pytest_job_file_of(const struct test_case *tc)
{
	const struct pytest_case *pc = pytest_case_of(tc);
	if (!pc || !pc->run_arg)
		return NULL;
	const char *sep = strstr(pc->run_arg, "::");
	return xstrndup(pc->run_arg, sep ? (size_t)(sep - pc->run_arg) : strlen(pc->run_arg));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **pytest_job_files(struct test_case *const *tests, size_t n,
			bool (*selected)(void *arg, const struct test_case *tc), void *arg)
{
	char **v = xcalloc(n + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char *f = !selected || selected(arg, tests[i]) ? pytest_job_file_of(tests[i]) : NULL;
		if (f)
			v[k++] = f;
	}
	qsort(v, k, sizeof(*v), cmp_str);
	size_t kept = 0;
	for (size_t i = 0; i < k; i++) {
		if (kept && strcmp(v[kept - 1], v[i]) == 0)
			free(v[i]);
		else
			v[kept++] = v[i];
	}
	v[kept] = NULL;
	return v;
}

/* The job of tc (run with run_arg, or NULL: see set_command). */
static int job_for(const struct pytest_job_ctx *ctx, const struct test_case *tc,
		   const char *run_arg, struct job_spec *out, bool *ignored, struct err **err)
{
	struct engine_case_view view;
	engine_case_view_init(&view, tc);
	struct directive_result res;
	int rc = directives_apply(ctx->directives, engine_case_lookup, engine_case_simple, &view,
				  &res, err);
	engine_case_view_release(&view);
	if (rc < 0)
		return -1;
	if (res.ignore) {
		*ignored = true;
		directive_result_release(&res);
		return 0;
	}
	out->container = res.container;
	memset(&res.container, 0, sizeof(res.container));
	pytest_job_push_layers(&out->container, ctx, res.include_shared_libraries);
	layers_onto_image(&out->container);
	pytest_job_unshadow(&out->container, ctx->project_dir);
	push_environment(&out->container, ctx);
	if (!out->container.working_directory)
		out->container.working_directory = xstrdup(ctx->project_dir);
	/* Without the host's interpreter, an image brings its own: the first
	 * python3 on the job's PATH. */
	bool image_python = out->container.image.name && !res.include_shared_libraries;
	set_command(out, ctx, image_python ? "python3" : ctx->python->executable, run_arg);
	if (ctx->fork_server && res.fork_server && (ctx->zygote_collects_default || ctx->n_files))
		set_fork_server(out, ctx);
	out->timeout_s = res.timeout_s;
	directive_result_release(&res);
	return 0;
}

int pytest_job_make(void *arg, const struct test_case *tc, struct job_spec *out, bool *ignored,
		    struct err **err)
{
	const struct pytest_job_ctx *ctx = arg;
	const struct pytest_case *pc = pytest_case_of(tc);
	*ignored = false;
	if (!pc || !pc->run_arg)
		return err_set(err, EINVAL, "test %s was not collected by maelstrom-pytest",
			       tc->display ? tc->display : "(unnamed)");
	if (!ctx->python)
		return err_set(err, EINVAL, "no Python interpreter is known to run %s",
			       tc->display);
	return job_for(ctx, tc, pc->run_arg, out, ignored, err);
}

int pytest_job_prewarm(const struct pytest_job_ctx *ctx, struct job_spec *out, struct err **err)
{
	if (!ctx->fork_server || !ctx->zygote_collects_default || !ctx->python)
		return 0;
	/* Every field empty: only directives without a filter, or with one
	 * that holds for such a test, apply. */
	struct test_case nobody = { .kind = TARGET_NONE };
	struct job_spec spec = { 0 };
	bool ignored = false;
	if (job_for(ctx, &nobody, NULL, &spec, &ignored, err) < 0) {
		job_spec_release(&spec);
		return err_wrap(err, "the directives for the fork server started ahead");
	}
	if (ignored || !spec.fork_server.program) {
		job_spec_release(&spec);
		return 0;
	}
	*out = spec;
	return 1;
}
