/*
 * cargo-maelstrom (also `cargo maelstrom`): a drop-in for `cargo test` that
 * runs every Rust test in its own container, locally or on a cluster.
 *
 * The flow: `cargo metadata` -> (--init, --list-packages, --list-binaries
 * stop here) -> the spec file, the local worker and client, the engine ->
 * build, list and run (runners/cargo/cargo_discover.h) -> the engine's exit
 * status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifacts/store.h"
#include "core/config.h"
#include "core/dirs.h"
#include "core/log.h"
#include "core/program.h"
#include "core/reactor.h"
#include "runners/cargo/cargo_discover.h"
#include "runners/cargo/cargo_meta.h"
#include "runners/client_stack.h"
#include "runners/engine.h"
#include "runners/runner_config.h"
#include "runners/spec_file.h"

#define VERSION "0.1.0"

static const struct config_option options[] = {
	/* Command-line only. */
	{"include", 'i', CONFIG_LIST, NULL, "PATTERN",
	 "Run only tests matching PATTERN (repeatable; default: every test).", CONFIG_CLI_ONLY},
	{"exclude", 'x', CONFIG_LIST, NULL, "PATTERN",
	 "Do not run tests matching PATTERN (repeatable; wins over --include).", CONFIG_CLI_ONLY},
	{"init", 0, CONFIG_BOOL, NULL, NULL,
	 "Write a starter cargo-maelstrom.toml in the workspace root and exit.", CONFIG_CLI_ONLY},
	{"list", 0, CONFIG_BOOL, NULL, NULL, "Alias for --list-tests.", CONFIG_CLI_ONLY},
	{"list-tests", 0, CONFIG_BOOL, NULL, NULL,
	 "Build the test binaries and print the tests that would run, without running them.",
	 CONFIG_CLI_ONLY},
	{"list-binaries", 0, CONFIG_BOOL, NULL, NULL,
	 "Print the test binaries tests would run from, without building anything.",
	 CONFIG_CLI_ONLY},
	{"list-packages", 0, CONFIG_BOOL, NULL, NULL,
	 "Print the packages tests would run from, without building anything.", CONFIG_CLI_ONLY},
	{"stop-after", 's', CONFIG_NUMBER, NULL, "N",
	 "Stop after N failed tests: cancel the running ones, start no more.", CONFIG_CLI_ONLY},
	{"watch", 0, CONFIG_BOOL, NULL, NULL,
	 "After the run, watch the workspace and run again when a file changes.",
	 CONFIG_CLI_ONLY},
	{"junit", 0, CONFIG_STRING, NULL, "PATH", "Write a JUnit XML report to PATH.",
	 CONFIG_CLI_ONLY},
	{"loop", 0, CONFIG_NUMBER, NULL, "N", "Alias for --repeat.", CONFIG_CLI_ONLY},
	/* Configuration values (book: cargo-maelstrom/config.md). */
	{"cache-size", 0, CONFIG_SIZE, "1 GB", NULL,
	 "Target disk space for the local worker's artifact cache.", 0},
	{"inline-limit", 0, CONFIG_SIZE, "1 MB", NULL,
	 "Most standard output (and, separately, error) kept per test; the rest is counted "
	 "and dropped.", 0},
	{"slots", 0, CONFIG_NUMBER, NULL, "N", "Tests run at once locally (default: one per CPU).",
	 0},
	{"container-image-depot-root", 0, CONFIG_STRING, NULL, "PATH",
	 "Container image cache (default $XDG_CACHE_HOME/maelstrom/containers).", 0},
	{"accept-invalid-remote-container-tls-certs", 0, CONFIG_BOOL, NULL, NULL,
	 "Accept invalid TLS certificates from container registries.", 0},
	{"container-registry-plain-http", 0, CONFIG_STRING, NULL, "HOSTS",
	 "Registries (comma-separated HOST or HOST:PORT) spoken to in plain HTTP besides loopback.", 0},
	{"broker", 'b', CONFIG_STRING, NULL, "HOST:PORT",
	 "Broker to send tests to (cluster mode); unset means standalone.", 0},
	{"quiet", 'q', CONFIG_BOOL, NULL, NULL,
	 "Print no line per test: only a progress bar on a terminal, then the summary.", 0},
	{"ui", 0, CONFIG_STRING, "auto", "STYLE", "Output style: auto, simple or fancy.", 0},
	{"repeat", 'r', CONFIG_NUMBER, "1", "N", "Run every test N times.", 0},
	{"timeout", 't', CONFIG_STRING, NULL, "SECONDS",
	 "Timeout for every test, overriding cargo-maelstrom.toml.", 0},
	{"features", 'F', CONFIG_STRING, NULL, "FEATURES",
	 "Comma-separated features to activate (passed to cargo).", 0},
	{"all-features", 0, CONFIG_BOOL, NULL, NULL, "Activate all features (passed to cargo).", 0},
	{"no-default-features", 0, CONFIG_BOOL, NULL, NULL,
	 "Do not activate the `default` feature (passed to cargo).", 0},
	{"profile", 0, CONFIG_STRING, NULL, "NAME", "Build with this profile (passed to cargo).",
	 0},
	{"target", 0, CONFIG_STRING, NULL, "TRIPLE", "Build for this target (passed to cargo).",
	 0},
	{"target-dir", 0, CONFIG_STRING, NULL, "PATH",
	 "Directory for all generated artifacts (passed to cargo).", 0},
	{"manifest-path", 0, CONFIG_STRING, NULL, "PATH",
	 "Path to Cargo.toml (passed to cargo).", 0},
	{"frozen", 0, CONFIG_BOOL, NULL, NULL,
	 "Require Cargo.lock and the cache to be up to date (passed to cargo).", 0},
	{"locked", 0, CONFIG_BOOL, NULL, NULL,
	 "Require Cargo.lock to be up to date (passed to cargo).", 0},
	{"offline", 0, CONFIG_BOOL, NULL, NULL,
	 "Run without cargo accessing the network (passed to cargo).", 0},
	{"extra-test-binary-args", 0, CONFIG_LIST, NULL, "ARG",
	 "Arguments given to every test binary after --exact and --nocapture (on the command "
	 "line: everything after `--`).", 0},
};

static const char *const env_prefixes[] = {"CARGO_MAELSTROM", "MAELSTROM", NULL};

static const struct config_program program = {
	.name = "cargo-maelstrom",
	.version = VERSION,
	.config_dir = "cargo-maelstrom",
	.env_prefixes = env_prefixes,
	.description = "Builds a Cargo workspace's tests like `cargo test`, then runs each test "
		       "in its own lightweight container, in parallel, locally or on a "
		       "Maelstrom cluster. Exits 0 when every selected test passed.",
	.usage = "cargo maelstrom [OPTIONS] [-- TEST-BINARY-ARGS...]",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
	.max_positional = 0,
	.takes_rest = true,
};

/* Everything the program holds. */
struct cargo_main {
	const struct config *cfg;
	struct reactor *r;
	struct cargo_opts opts;
	char *target_dir_abs;      /* --target-dir made absolute */
	struct cargo_meta meta;    /* until the discovery takes it */
	bool meta_ok;
	char *meta_error;          /* why cargo metadata failed */
	char *root;                /* the workspace root */
	char *tdir;                /* the target directory cargo builds into */
	struct client_stack stack;   /* the client and what it stands on */
	struct engine *engine;
	struct cargo_discover *discover;
	char *state_dir;
	char *watch_ignore_rel;    /* the target dir relative to the root, if inside */
	const char *watch_ignore[3];   /* --watch: directories not watched */
	int signals;               /* stop signals received */
};

/* ---- configuration ------------------------------------------------------- */

static bool want(const struct config *cfg, const char *name)
{
	return config_get_bool(cfg, name);
}

static int check_config(const struct config *cfg, void *arg, struct err **err)
{
	(void)arg;
	if (runner_config_check_counts(cfg, err) < 0)
		return -1;
	int modes = want(cfg, "init") + (want(cfg, "list") || want(cfg, "list-tests")) +
		    want(cfg, "list-binaries") + want(cfg, "list-packages");
	if (modes > 1)
		return err_set(err, 0, "--init, --list-tests, --list-binaries and --list-packages "
				       "exclude each other; give one");
	if (modes && want(cfg, "watch"))
		return err_set(err, 0, "--watch cannot be combined with --init or a --list option");
	enum ui_style style;
	if (ui_style_parse(config_get_string(cfg, "ui"), &style, err) < 0)
		return err_wrap(err, "%s", config_source(cfg, "ui"));
	uint32_t timeout;
	return runner_config_timeout(cfg, &timeout, err);
}

static void read_cargo_opts(struct cargo_main *m)
{
	const struct config *cfg = m->cfg;
	struct cargo_opts *o = &m->opts;
	o->cargo = getenv("CARGO");
	o->features = config_get_string(cfg, "features");
	o->all_features = want(cfg, "all-features");
	o->no_default_features = want(cfg, "no-default-features");
	o->profile = config_get_string(cfg, "profile");
	o->target = config_get_string(cfg, "target");
	o->manifest_path = config_get_string(cfg, "manifest-path");
	o->frozen = want(cfg, "frozen");
	o->locked = want(cfg, "locked");
	o->offline = want(cfg, "offline");
	const char *td = config_get_string(cfg, "target-dir");
	if (td && td[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)) && asprintf(&m->target_dir_abs, "%s/%s", cwd, td) < 0)
			abort();
	}
	o->target_dir = m->target_dir_abs ? m->target_dir_abs : td;
}

/* ---- cargo metadata, before anything else ------------------------------------ */

static void on_first_meta(void *arg, struct cargo_meta *meta, const char *error)
{
	struct cargo_main *m = arg;
	if (meta) {
		m->meta = *meta;
		memset(meta, 0, sizeof(*meta));
		m->meta_ok = true;
	} else {
		m->meta_error = strdup(error ? error : "cargo metadata failed");
	}
	reactor_stop(m->r);
}

static int read_metadata(struct cargo_main *m, struct err **err)
{
	struct cargo_meta_run *run = cargo_meta_run(m->r, &m->opts, NULL, on_first_meta, m, err);
	if (!run)
		return -1;
	int rc = reactor_run(m->r, err);
	cargo_meta_run_free(run);
	if (rc < 0)
		return -1;
	if (!m->meta_ok) {
		err_set(err, 0, "%s\n(run cargo-maelstrom inside a Cargo workspace, or give "
			"--manifest-path)", m->meta_error ? m->meta_error : "cargo metadata failed");
		free(m->meta_error);
		m->meta_error = NULL;
		return -1;
	}
	/* The directory cargo builds into: --target-dir, or what metadata says. */
	m->root = strdup(m->meta.workspace_root);
	m->tdir = strdup(m->opts.target_dir ? m->opts.target_dir : m->meta.target_dir);
	if (!m->root || !m->tdir)
		abort();
	return 0;
}

/* ---- --init ------------------------------------------------------------------ */

static int write_init(const struct cargo_main *m, struct err **err)
{
	char *path = NULL;
	if (spec_file_init(m->root, CARGO_SPEC_FILE, program.name, &filter_flavor_cargo, &path,
			   err) < 0)
		return -1;
	printf("wrote %s\n", path);
	free(path);
	return 0;
}

/* ---- objects ------------------------------------------------------------------ */

static int build_objects(struct cargo_main *m, struct err **err)
{
	const struct config *cfg = m->cfg;
	char *cache_root = NULL, *artifacts = NULL;
	if (asprintf(&cache_root, "%s/maelstrom/cache", m->tdir) < 0 ||
	    asprintf(&artifacts, "%s/artifacts", cache_root) < 0 ||
	    asprintf(&m->state_dir, "%s/maelstrom/state", m->tdir) < 0)
		abort();
	int rc = dirs_make(cache_root, err);
	free(cache_root);
	if (rc == 0)
		rc = store_open(&m->stack.store, artifacts, config_get_size(cfg, "cache-size"), err);
	free(artifacts);
	if (rc < 0)
		return err_wrap(err, "cache directory");
	return client_stack_open(&m->stack, m->r, cfg, m->root, err);
}

/* ---- the engine ---------------------------------------------------------------- */

/* --watch must not react to cargo's own output. */
static void set_watch_ignore(struct cargo_main *m, const char **ignore)
{
	size_t n = 0;
	ignore[n++] = "target";
	const char *root = m->root, *td = m->tdir;
	size_t len = strlen(root);
	if (strncmp(td, root, len) == 0 && td[len] == '/' && td[len + 1]) {
		m->watch_ignore_rel = strdup(td + len + 1);
		if (!m->watch_ignore_rel)
			abort();
		ignore[n++] = m->watch_ignore_rel;
	}
	ignore[n] = NULL;
}

/* The engine; arg (the discovery, or NULL when listing targets) is given
 * to its job and rerun callbacks. */
static int make_engine(struct cargo_main *m, bool list_only, void *arg, struct err **err)
{
	const struct config *cfg = m->cfg;
	size_t n_inc = 0, n_exc = 0;
	char *const *inc = config_get_list(cfg, "include", &n_inc);
	char *const *exc = config_get_list(cfg, "exclude", &n_exc);
	enum ui_style style = UI_AUTO;
	ui_style_parse(config_get_string(cfg, "ui"), &style, NULL);
	uint32_t timeout = 0;
	runner_config_timeout(cfg, &timeout, NULL);
	bool watch = want(cfg, "watch");
	if (watch)
		set_watch_ignore(m, m->watch_ignore);
	struct engine_config ec = {
		.includes = (const char *const *)inc,
		.n_includes = n_inc,
		.excludes = (const char *const *)exc,
		.n_excludes = n_exc,
		.flavor = &filter_flavor_cargo,
		.repeat = runner_config_repeat(cfg),
		.stop_after = runner_config_stop_after(cfg),
		.timeout_override = timeout,
		.list_only = list_only,
		.ui = style,
		.quiet = want(cfg, "quiet"),
		.junit_path = list_only ? NULL : config_get_string(cfg, "junit"),
		.state_dir = list_only ? NULL : m->state_dir,
		.watch_dir = watch ? m->root : NULL,
		.watch_ignore = watch ? m->watch_ignore : NULL,
	};
	return engine_new(&m->engine, m->r, m->stack.client, &ec, cargo_discover_job,
			  watch ? cargo_discover_rerun : NULL, arg, err);
}

static void on_finished(void *arg)
{
	struct cargo_main *m = arg;
	reactor_stop(m->r);
}

static void on_stop_signal(struct reactor *r, int signo, void *arg)
{
	struct cargo_main *m = arg;
	if (m->signals++ > 0) {
		log_warning("%s again: stopping at once", strsignal(signo));
		reactor_stop(r);
		return;
	}
	cargo_discover_stop(m->discover);
	engine_cancel_all(m->engine);
}

/* --list-packages / --list-binaries: the engine only evaluates filters. */
static int list_targets(struct cargo_main *m, bool packages, struct err **err)
{
	if (make_engine(m, true, NULL, err) < 0)
		return -1;
	if (packages)
		cargo_print_packages(m->engine, &m->meta, stdout);
	else
		cargo_print_binaries(m->engine, &m->meta, stdout);
	return 0;
}

/* Builds, lists and runs (or, with --list-tests, prints) the tests. Returns
 * the engine's exit status, or -1 with *err when the run could not start. */
static int run_tests(struct cargo_main *m, struct err **err)
{
	const struct config *cfg = m->cfg;
	bool list_only = want(cfg, "list") || want(cfg, "list-tests");
	if (!list_only && build_objects(m, err) < 0)
		return -1;
	struct directives *dirs = NULL;
	if (cargo_load_directives(m->root, &dirs, err) < 0)
		return -1;
	size_t n_extra = 0;
	char *const *extra = config_rest(cfg, &n_extra);
	if (n_extra == 0)
		extra = config_get_list(cfg, "extra-test-binary-args", &n_extra);
	m->discover = cargo_discover_new(m->r, &m->opts, &m->meta, dirs,
					 (const char *const *)extra, n_extra);
	if (make_engine(m, list_only, m->discover, err) < 0)
		return -1;
	cargo_discover_attach(m->discover, m->engine, list_only);
	engine_set_finished_cb(m->engine, on_finished, m);
	if (reactor_on_signal(m->r, SIGINT, on_stop_signal, m, err) < 0 ||
	    reactor_on_signal(m->r, SIGTERM, on_stop_signal, m, err) < 0 ||
	    reactor_on_signal(m->r, SIGHUP, on_stop_signal, m, err) < 0)
		return -1;
	cargo_discover_start(m->discover);
	if (!engine_finished(m->engine) && reactor_run(m->r, err) < 0)
		return -1;
	if (!engine_finished(m->engine)) {
		/* Stopped by a second signal: whatever still runs is abandoned. */
		cargo_discover_stop(m->discover);
		return 130;
	}
	return engine_exit_status(m->engine);
}

/* ---- main ---------------------------------------------------------------------- */

/* `cargo maelstrom ...` runs us as `cargo-maelstrom maelstrom ...`. */
static void drop_subcommand_name(int *argc, char **argv)
{
	if (*argc > 1 && strcmp(argv[1], "maelstrom") == 0) {
		memmove(argv + 1, argv + 2, (size_t)(*argc - 1) * sizeof(*argv));
		(*argc)--;
	}
}

int main(int argc, char **argv)
{
	drop_subcommand_name(&argc, argv);
	struct config cfg;
	int rc = program_load_config(&cfg, &program, argc, argv, check_config, NULL);
	if (rc >= 0)
		return rc;
	struct err *err = NULL;
	signal(SIGPIPE, SIG_IGN);
	struct cargo_main m = {.cfg = &cfg};
	read_cargo_opts(&m);
	int status = 1;
	if (reactor_new(&m.r, 0, &err) < 0 || read_metadata(&m, &err) < 0)
		goto out;
	if (want(&cfg, "init")) {
		status = write_init(&m, &err) < 0 ? 1 : 0;
		goto out;
	}
	if (want(&cfg, "list-packages") || want(&cfg, "list-binaries")) {
		status = list_targets(&m, want(&cfg, "list-packages"), &err) < 0 ? 1 : 0;
		goto out;
	}
	rc = run_tests(&m, &err);
	status = rc < 0 ? 1 : rc;
out:
	if (err)
		program_log_error(&err);
	cargo_discover_free(m.discover);
	engine_free(m.engine);
	client_stack_release(&m.stack);
	reactor_free(m.r);
	cargo_meta_release(&m.meta);
	free(m.state_dir);
	free(m.root);
	free(m.tdir);
	free(m.watch_ignore_rel);
	free(m.target_dir_abs);
	config_release(&cfg);
	fflush(stdout);
	return status;
}
