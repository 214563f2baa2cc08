/*
 * maelstrom-pytest: runs every test of a Python project, as pytest
 * collects them, in its own container, locally or on a cluster.
 *
 * The flow: the configuration -> the project directory (the current
 * directory) -> (--init stops here) -> the Python helpers, the spec file,
 * the local worker and client, the engine -> collect and run
 * (runners/pytest/pytest_discover.h) -> the engine's exit status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/store.h"
#include "core/config.h"
#include "core/dirs.h"
#include "core/log.h"
#include "core/program.h"
#include "core/reactor.h"
#include "core/strv.h"
#include "core/xalloc.h"
#include "runners/client_stack.h"
#include "runners/engine.h"
#include "runners/pytest/pytest_discover.h"
#include "runners/pytest/pytest_outcome.h"
#include "runners/pytest/pytest_python.h"
#include "runners/runner_config.h"
#include "runners/spec_file.h"

#define VERSION "0.1.0"

/* Under the project directory (book: pytest/project-dir.md). */
#define PYTEST_DIR ".maelstrom-pytest"

static const struct config_option options[] = {
	/* Command-line only. */
	{"include", 'i', CONFIG_LIST, NULL, "PATTERN",
	 "Run only tests matching PATTERN (repeatable; default: every test).", CONFIG_CLI_ONLY},
	{"exclude", 'x', CONFIG_LIST, NULL, "PATTERN",
	 "Do not run tests matching PATTERN (repeatable; wins over --include).", CONFIG_CLI_ONLY},
	{"init", 0, CONFIG_BOOL, NULL, NULL,
	 "Write a starter maelstrom-pytest.toml in the project directory and exit.",
	 CONFIG_CLI_ONLY},
	{"list", 0, CONFIG_BOOL, NULL, NULL,
	 "Collect the tests and print those that would run, without running them.",
	 CONFIG_CLI_ONLY},
	{"watch", 0, CONFIG_BOOL, NULL, NULL,
	 "After the run, watch the project and run again when a file changes.",
	 CONFIG_CLI_ONLY},
	{"junit", 0, CONFIG_STRING, NULL, "PATH", "Write a JUnit XML report to PATH.",
	 CONFIG_CLI_ONLY},
	{"loop", 0, CONFIG_NUMBER, NULL, "N", "Alias for --repeat.", CONFIG_CLI_ONLY},
	/* Configuration values (book: pytest/config.md). */
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
	{"ui", 0, CONFIG_STRING, "auto", "STYLE",
	 "Output style: auto, simple, fancy, or quiet (the same as --quiet).", 0},
	{"repeat", 'r', CONFIG_NUMBER, "1", "N", "Run every test N times.", 0},
	{"timeout", 't', CONFIG_STRING, NULL, "SECONDS",
	 "Timeout for every test, overriding maelstrom-pytest.toml.", 0},
	{"stop-after", 's', CONFIG_NUMBER, NULL, "N",
	 "Stop after N failed tests: cancel the running ones, start no more.", 0},
	{"python", 0, CONFIG_STRING, NULL, "PATH",
	 "Python interpreter (with pytest) to collect and run the tests with (default: python3 "
	 "on PATH, or /usr/bin/python3 when that one has no pytest).", 0},
	{"collect-from-module", 0, CONFIG_STRING, NULL, "MODULE",
	 "Collect the tests from MODULE (pytest --pyargs MODULE) instead of the project "
	 "directory.", 0},
	{"extra-pytest-args", 0, CONFIG_LIST, NULL, "ARG",
	 "Arguments given to pytest both when collecting and when running a test.", 0},
	{"extra-pytest-collect-args", 0, CONFIG_LIST, NULL, "ARG",
	 "Arguments given to pytest when collecting, after --collect-only and --pyargs.", 0},
	{"fork-server", 0, CONFIG_BOOL, "true", NULL,
	 "Run the tests from a warm pytest process (a fork server that has already imported "
	 "pytest and collected the test files), each forked into its own isolated container; "
	 "false (--fork-server=false) starts every test cold, in a fresh interpreter.", 0},
	{"extra-pytest-test-args", 0, CONFIG_LIST, NULL, "ARG",
	 "Arguments given to pytest when running a test, after --verbose and before the test's "
	 "node id (on the command line: everything after `--`).", 0},
};

static const char *const env_prefixes[] = {"MAELSTROM_PYTEST", "MAELSTROM", NULL};

static const struct config_program program = {
	.name = "maelstrom-pytest",
	.version = VERSION,
	.config_dir = "pytest",
	.env_prefixes = env_prefixes,
	.description = "Collects a Python project's tests with pytest, then runs each test in "
		       "its own lightweight container, in parallel, locally or on a Maelstrom "
		       "cluster. Run it in the project directory. Exits 0 when every selected "
		       "test passed.",
	.usage = "maelstrom-pytest [OPTIONS] [-- PYTEST-ARGS...]",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
	.max_positional = 0,
	.takes_rest = true,
};

/* Everything the program holds. */
struct pytest_main {
	const struct config *cfg;
	struct reactor *r;
	char *root;                /* the project directory (real path) */
	char *helpers;             /* the Python helpers directory */
	struct pytest_opts opts;
	char **collect_args;
	char **test_args;
	struct client_stack stack;   /* the client and what it stands on */
	struct engine *engine;
	struct pytest_discover *discover;
	char *state_dir;
	char *python_cache;        /* the last run's interpreter */
	int signals;               /* stop signals received */
};

/* ---- configuration ------------------------------------------------------- */

static bool want(const struct config *cfg, const char *name)
{
	return config_get_bool(cfg, name);
}

/* The `ui` and `quiet` values. The book also lists `quiet` as a ui style:
 * it means quiet = true. */
static int read_ui(const struct config *cfg, enum ui_style *style, bool *quiet,
		   struct err **err)
{
	const char *ui = config_get_string(cfg, "ui");
	*quiet = want(cfg, "quiet");
	*style = UI_AUTO;
	if (ui && strcmp(ui, "quiet") == 0) {
		*quiet = true;
		return 0;
	}
	if (ui_style_parse(ui, style, err) < 0)
		return err_wrap(err, "%s", config_source(cfg, "ui"));
	return 0;
}

static int check_config(const struct config *cfg, void *arg, struct err **err)
{
	(void)arg;
	if (runner_config_check_counts(cfg, err) < 0)
		return -1;
	if (want(cfg, "init") && want(cfg, "list"))
		return err_set(err, 0, "--init and --list exclude each other; give one");
	if ((want(cfg, "init") || want(cfg, "list")) && want(cfg, "watch"))
		return err_set(err, 0, "--watch cannot be combined with --init or --list");
	enum ui_style style;
	bool quiet;
	if (read_ui(cfg, &style, &quiet, err) < 0)
		return -1;
	uint32_t timeout;
	return runner_config_timeout(cfg, &timeout, err);
}

static char **push_list(char **v, const struct config *cfg, const char *name)
{
	size_t n = 0;
	char *const *list = config_get_list(cfg, name, &n);
	for (size_t i = 0; i < n; i++)
		v = strv_push(v, list[i]);
	return v;
}

/* The arguments pytest gets (book: pytest/config.md). */
static void read_pytest_opts(struct pytest_main *m)
{
	const struct config *cfg = m->cfg;
	char **c = strv_dup(NULL);
	const char *module = config_get_string(cfg, "collect-from-module");
	if (module && *module) {
		c = strv_push(c, "--pyargs");
		c = strv_push(c, module);
	}
	c = push_list(c, cfg, "extra-pytest-args");
	size_t n_shared = 0;
	config_get_list(cfg, "extra-pytest-args", &n_shared);
	c = push_list(c, cfg, "extra-pytest-collect-args");
	char **t = push_list(strv_dup(NULL), cfg, "extra-pytest-args");
	size_t n_rest = 0;
	char *const *rest = config_rest(cfg, &n_rest);
	if (n_rest)
		for (size_t i = 0; i < n_rest; i++)
			t = strv_push(t, rest[i]);
	else
		t = push_list(t, cfg, "extra-pytest-test-args");
	m->collect_args = c;
	m->test_args = t;
	m->opts = (struct pytest_opts){
		.project_dir = m->root,
		.helpers_dir = m->helpers,
		.python = config_get_string(cfg, "python"),
		.collect_args = (const char *const *)c,
		.n_collect_args = strv_len((const char *const *)c),
		.test_args = (const char *const *)t,
		.n_test_args = strv_len((const char *const *)t),
		.fork_server = want(cfg, "fork-server"),
		/* The zygote can collect what the host does without the
		 * collection's result only when that is pytest's default. */
		.collect_extra = strv_len((const char *const *)c) != n_shared,
		.python_cache = m->python_cache,
	};
}

static int find_project(struct pytest_main *m, struct err **err)
{
	m->root = realpath(".", NULL);
	if (!m->root)
		return err_set(err, errno, "cannot resolve the current directory (the project "
				       "directory)");
	return 0;
}

/* ---- --init ------------------------------------------------------------------ */

static int write_init(const struct pytest_main *m, struct err **err)
{
	char *path = NULL;
	if (spec_file_init(m->root, PYTEST_SPEC_FILE, program.name, &filter_flavor_pytest, &path,
			   err) < 0)
		return -1;
	printf("wrote %s\n", path);
	free(path);
	return 0;
}

/* ---- objects ------------------------------------------------------------------ */

static int build_objects(struct pytest_main *m, struct err **err)
{
	const struct config *cfg = m->cfg;
	char *cache_root = xasprintf("%s/%s/cache", m->root, PYTEST_DIR);
	char *store_dir = xasprintf("%s/local-worker", cache_root);
	int rc = dirs_make(cache_root, err);
	free(cache_root);
	if (rc == 0)
		rc = store_open(&m->stack.store, store_dir, config_get_size(cfg, "cache-size"), err);
	free(store_dir);
	if (rc < 0)
		return err_wrap(err, "cache directory");
	return client_stack_open(&m->stack, m->r, cfg, m->root, err);
}

/* ---- the engine ---------------------------------------------------------------- */

/* --watch must not react to Python's bytecode caches (hidden directories,
 * such as .maelstrom-pytest and .pytest_cache, are never watched). */
static const char *const watch_ignore[] = {"__pycache__", NULL};

static int make_engine(struct pytest_main *m, bool list_only, struct err **err)
{
	const struct config *cfg = m->cfg;
	size_t n_inc = 0, n_exc = 0;
	char *const *inc = config_get_list(cfg, "include", &n_inc);
	char *const *exc = config_get_list(cfg, "exclude", &n_exc);
	enum ui_style style = UI_AUTO;
	bool quiet = false;
	read_ui(cfg, &style, &quiet, NULL);
	uint32_t timeout = 0;
	runner_config_timeout(cfg, &timeout, NULL);
	bool watch = want(cfg, "watch");
	struct engine_config ec = {
		.includes = (const char *const *)inc,
		.n_includes = n_inc,
		.excludes = (const char *const *)exc,
		.n_excludes = n_exc,
		.flavor = &filter_flavor_pytest,
		.repeat = runner_config_repeat(cfg),
		.stop_after = runner_config_stop_after(cfg),
		.timeout_override = timeout,
		.list_only = list_only,
		.ui = style,
		.quiet = quiet,
		.junit_path = list_only ? NULL : config_get_string(cfg, "junit"),
		.state_dir = list_only ? NULL : m->state_dir,
		.watch_dir = watch ? m->root : NULL,
		.watch_ignore = watch ? watch_ignore : NULL,
	};
	if (engine_new(&m->engine, m->r, m->stack.client, &ec, pytest_discover_job,
		       watch ? pytest_discover_rerun : NULL, m->discover, err) < 0)
		return -1;
	engine_set_outcome_fn(m->engine, pytest_outcome_map, NULL);
	return 0;
}

static void on_finished(void *arg)
{
	struct pytest_main *m = arg;
	reactor_stop(m->r);
}

static void on_stop_signal(struct reactor *r, int signo, void *arg)
{
	struct pytest_main *m = arg;
	if (m->signals++ > 0) {
		log_warning("%s again: stopping at once", strsignal(signo));
		reactor_stop(r);
		return;
	}
	pytest_discover_stop(m->discover);
	engine_cancel_all(m->engine);
}

/* Collects and runs (or, with --list, prints) the tests. Returns the
 * engine's exit status, or -1 with *err when the run could not start. */
static int run_tests(struct pytest_main *m, struct err **err)
{
	const struct config *cfg = m->cfg;
	bool list_only = want(cfg, "list");
	if (pytest_helpers_dir(&m->helpers, err) < 0)
		return -1;
	m->state_dir = xasprintf("%s/%s/state", m->root, PYTEST_DIR);
	if (!list_only && build_objects(m, err) < 0)
		return -1;
	if (!list_only)
		m->python_cache = xasprintf("%s/%s/cache/python.json", m->root, PYTEST_DIR);
	struct directives *dirs = NULL;
	if (pytest_load_directives(m->root, &dirs, err) < 0)
		return -1;
	read_pytest_opts(m);
	m->discover = pytest_discover_new(m->r, &m->opts, dirs);
	if (make_engine(m, list_only, err) < 0)
		return -1;
	pytest_discover_attach(m->discover, m->engine, list_only);
	if (!list_only)
		pytest_discover_set_client(m->discover, m->stack.client);
	engine_set_finished_cb(m->engine, on_finished, m);
	if (reactor_on_signal(m->r, SIGINT, on_stop_signal, m, err) < 0 ||
	    reactor_on_signal(m->r, SIGTERM, on_stop_signal, m, err) < 0 ||
	    reactor_on_signal(m->r, SIGHUP, on_stop_signal, m, err) < 0)
		return -1;
	pytest_discover_start(m->discover);
	if (!engine_finished(m->engine) && reactor_run(m->r, err) < 0)
		return -1;
	if (!engine_finished(m->engine)) {
		/* Stopped by a second signal: whatever still runs is abandoned. */
		pytest_discover_stop(m->discover);
		return 130;
	}
	return engine_exit_status(m->engine);
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct config cfg;
	int rc = program_load_config(&cfg, &program, argc, argv, check_config, NULL);
	if (rc >= 0)
		return rc;
	struct err *err = NULL;
	signal(SIGPIPE, SIG_IGN);
	struct pytest_main m = {.cfg = &cfg};
	int status = 1;
	if (find_project(&m, &err) < 0)
		goto out;
	if (want(&cfg, "init")) {
		status = write_init(&m, &err) < 0 ? 1 : 0;
		goto out;
	}
	if (reactor_new(&m.r, 0, &err) < 0)
		goto out;
	rc = run_tests(&m, &err);
	status = rc < 0 ? 1 : rc;
out:
	if (err)
		program_log_error(&err);
	pytest_discover_free(m.discover);
	engine_free(m.engine);
	client_stack_release(&m.stack);
	reactor_free(m.r);
	strv_free(m.collect_args);
	strv_free(m.test_args);
	free(m.state_dir);
	free(m.python_cache);
	free(m.helpers);
	free(m.root);
	config_release(&cfg);
	fflush(stdout);
	return status;
}
