#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "core/config.h"
#include "core/log.h"

static const struct config_option run_options[] = {
	{ "broker", 'b', CONFIG_STRING, NULL, "SOCKADDR", "Socket address of the broker.", 0 },
	{ "slots", 's', CONFIG_NUMBER, "4", NULL, "Jobs to run at once.", 0 },
	{ "cache-size", 0, CONFIG_SIZE, "1 GB", NULL, "Size of the local cache.", 0 },
	{ "enable-frobs", 0, CONFIG_BOOL, NULL, NULL, "Turn frobs on.", 0 },
	{ "layer", 'l', CONFIG_LIST, NULL, "PATH", "Extra layers.", 0 },
	{ "one", '1', CONFIG_BOOL, NULL, NULL, "Run exactly one job.", CONFIG_CLI_ONLY },
	{ "quiet", 'q', CONFIG_BOOL, NULL, NULL, "Say less.", CONFIG_CLI_ONLY },
	{ "file", 'f', CONFIG_STRING, NULL, "PATH", "Read jobs from PATH.", CONFIG_CLI_ONLY },
};

static const char *const run_prefixes[] = { "MAELSTROM_RUN", "MAELSTROM", NULL };

static const struct config_program run_prog = {
	.name = "maelstrom-run",
	.version = "0.1.0",
	.config_dir = "run",
	.env_prefixes = run_prefixes,
	.description = "Run jobs described as JSON.",
	.options = run_options,
	.n_options = sizeof(run_options) / sizeof(run_options[0]),
};

/* Environment variables a test may set; all cleared around each test. */
static const char *const test_env[] = {
	"MAELSTROM_RUN_BROKER", "MAELSTROM_BROKER", "MAELSTROM_RUN_SLOTS", "MAELSTROM_SLOTS",
	"MAELSTROM_RUN_CACHE_SIZE", "MAELSTROM_RUN_ENABLE_FROBS", "MAELSTROM_RUN_LAYER",
	"MAELSTROM_RUN_LOG_LEVEL", "MAELSTROM_RUN_ONE", "MAELSTROM_RUN_FILE",
};

struct fixture {
	char dir[256];   /* temporary root */
	char home[300];  /* XDG_CONFIG_HOME */
	char sys1[300];  /* first XDG_CONFIG_DIRS entry */
	char sys2[300];  /* second */
	struct config c;
	struct err *err;
};

static struct fixture *fx;

static void mkdirs(const char *base)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/maelstrom", base);
	assert_int_equal(mkdir(base, 0755), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/maelstrom/run", base);
	assert_int_equal(mkdir(path, 0755), 0);
}

static int setup(void **state)
{
	(void)state;
	fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof(fx->dir), "%s/test_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->home, sizeof(fx->home), "%s/home", fx->dir);
	snprintf(fx->sys1, sizeof(fx->sys1), "%s/sys1", fx->dir);
	snprintf(fx->sys2, sizeof(fx->sys2), "%s/sys2", fx->dir);
	mkdirs(fx->home);
	mkdirs(fx->sys1);
	mkdirs(fx->sys2);
	char dirs[700];
	snprintf(dirs, sizeof(dirs), "%s:relative/ignored:%s", fx->sys1, fx->sys2);
	setenv("XDG_CONFIG_HOME", fx->home, 1);
	setenv("XDG_CONFIG_DIRS", dirs, 1);
	for (size_t i = 0; i < sizeof(test_env) / sizeof(test_env[0]); i++)
		unsetenv(test_env[i]);
	config_init(&fx->c);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	config_release(&fx->c);
	err_free(&fx->err);
	nftw(fx->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < sizeof(test_env) / sizeof(test_env[0]); i++)
		unsetenv(test_env[i]);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_CONFIG_DIRS");
	log_set_level(LOG_INFO);
	free(fx);
	return 0;
}

/* Writes base/maelstrom/run/config.toml (or the path itself when base ends
 * in ".toml") and returns the path in a static buffer. */
static const char *write_config(const char *base, const char *text)
{
	static char path[512];
	if (strstr(base, ".toml"))
		snprintf(path, sizeof(path), "%s", base);
	else
		snprintf(path, sizeof(path), "%s/maelstrom/run/config.toml", base);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Runs config_load on "maelstrom-run" plus the NULL-terminated arguments. */
static int load_prog(const struct config_program *prog, ...)
{
	char *argv[32] = { (char *)"maelstrom-run" };
	int argc = 1;
	va_list ap;
	va_start(ap, prog);
	for (char *a; (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	err_free(&fx->err);
	return config_load(&fx->c, prog, argc, argv, &fx->err);
}
#define load(...) load_prog(&run_prog, __VA_ARGS__, NULL)
#define load_none() load_prog(&run_prog, NULL)

static void expect_ok(int rc)
{
	if (rc != 0)
		fail_msg("config_load returned %d: %s", rc, err_msg(fx->err));
}

static void expect_error(int rc, const char *want)
{
	assert_int_equal(rc, -1);
	assert_non_null(fx->err);
	assert_string_equal(err_msg(fx->err), want);
}

/* Like expect_error, with the expected message formatted. */
static void expect_errorf(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void expect_errorf(int rc, const char *fmt, ...)
{
	char *want = NULL;
	va_list ap;
	va_start(ap, fmt);
	assert_true(vasprintf(&want, fmt, ap) >= 0);
	va_end(ap);
	expect_error(rc, want);
	free(want);
}

/* ---- defaults, command line, environment ----------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	expect_ok(load_none());
	struct config *c = &fx->c;
	assert_null(config_get_string(c, "broker"));
	assert_false(config_is_set(c, "broker"));
	assert_string_equal(config_source(c, "broker"), "not set");
	assert_int_equal(config_get_number(c, "slots"), 4);
	assert_string_equal(config_source(c, "slots"), "default");
	assert_int_equal(config_get_size(c, "cache-size"), 1000000000ULL);
	assert_false(config_get_bool(c, "enable-frobs"));
	assert_true(config_is_set(c, "enable-frobs"));
	size_t n = 99;
	char *const *list = config_get_list(c, "layer", &n);
	assert_int_equal(n, 0);
	assert_null(list[0]);
	assert_string_equal(config_get_string(c, "log-level"), "info");
	assert_null(config_get_string(c, "config-file"));
	assert_null(config_output(c));
	assert_null(config_positional(c, &n)[0]);
	assert_int_equal(n, 0);
	assert_null(config_rest(c, &n)[0]);
	/* Mistakes in the program are logged and give zero values. */
	assert_int_equal(config_get_number(c, "no-such-value"), 0);
	assert_null(config_get_string(c, "slots"));
	assert_string_equal(config_source(c, "no-such-value"), "not set");
}

static void test_cli_forms(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	expect_ok(load("--slots=8", "--broker", "host:9000", "--cache-size", "2 GiB"));
	assert_int_equal(config_get_number(c, "slots"), 8);
	assert_string_equal(config_source(c, "slots"), "--slots");
	assert_string_equal(config_get_string(c, "broker"), "host:9000");
	assert_int_equal(config_get_size(c, "cache-size"), 2ULL << 30);
	assert_string_equal(config_source(c, "cache-size"), "--cache-size");

	expect_ok(load("-s", "9", "-bx:1"));
	assert_int_equal(config_get_number(c, "slots"), 9);
	assert_string_equal(config_source(c, "slots"), "-s");
	assert_string_equal(config_get_string(c, "broker"), "x:1");

	expect_ok(load("-s12", "--slots=-3", "--broker="));
	assert_int_equal(config_get_number(c, "slots"), -3);
	assert_string_equal(config_get_string(c, "broker"), "");
	/* A value may start with a dash when it is the next argument. */
	expect_ok(load("--broker", "-weird", "--slots", "1_000"));
	assert_string_equal(config_get_string(c, "broker"), "-weird");
	assert_int_equal(config_get_number(c, "slots"), 1000);
}

static void test_flags(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	expect_ok(load("--enable-frobs", "-1"));
	assert_true(config_get_bool(c, "enable-frobs"));
	assert_string_equal(config_source(c, "enable-frobs"), "--enable-frobs");
	assert_true(config_get_bool(c, "one"));
	assert_false(config_get_bool(c, "quiet"));

	expect_ok(load("-1q", "--file", "jobs.json"));
	assert_true(config_get_bool(c, "one"));
	assert_true(config_get_bool(c, "quiet"));
	assert_string_equal(config_get_string(c, "file"), "jobs.json");

	setenv("MAELSTROM_RUN_ENABLE_FROBS", "true", 1);
	expect_ok(load("--enable-frobs=false"));
	assert_false(config_get_bool(c, "enable-frobs"));
	expect_ok(load_none());
	assert_true(config_get_bool(c, "enable-frobs"));
	assert_string_equal(config_source(c, "enable-frobs"), "MAELSTROM_RUN_ENABLE_FROBS");

	expect_error(load("-1f", "x"),
		     "-1f: -f takes a value, so it cannot be combined with other options; write it "
		     "separately");
	expect_error(load("-1z"), "unknown option -z (in -1z); see --help");
	expect_error(load("--enable-frobs=yes"), "--enable-frobs: `yes` is not true or false");
	setenv("MAELSTROM_RUN_ENABLE_FROBS", "1", 1);
	expect_error(load_none(), "MAELSTROM_RUN_ENABLE_FROBS: `1` is not true or false");
}

static void test_lists(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	size_t n = 0;
	char *const *l;

	setenv("MAELSTROM_RUN_LAYER", "  x.tar\ty.tar \n z.tar ", 1);
	expect_ok(load_none());
	l = config_get_list(c, "layer", &n);
	assert_int_equal(n, 3);
	assert_string_equal(l[0], "x.tar");
	assert_string_equal(l[2], "z.tar");
	assert_null(l[3]);

	/* The command line replaces the environment's list, and repeats add. */
	expect_ok(load("--layer", "a b", "-l", "b", "--layer=c", "-ld"));
	l = config_get_list(c, "layer", &n);
	assert_int_equal(n, 4);
	assert_string_equal(l[0], "a b");
	assert_string_equal(l[1], "b");
	assert_string_equal(l[2], "c");
	assert_string_equal(l[3], "d");
	assert_string_equal(config_source(c, "layer"), "-l");

	setenv("MAELSTROM_RUN_LAYER", "", 1);
	write_config(fx->home, "layer = [\"f\"]\n");
	expect_ok(load_none());
	assert_int_equal(config_get_list(c, "layer", &n)[0], NULL);
	assert_int_equal(n, 0);
	assert_string_equal(config_source(c, "layer"), "MAELSTROM_RUN_LAYER");
}

static void test_positional_and_rest(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	expect_error(load("foo"), "unexpected argument `foo`; see --help");
	expect_error(load("--", "x"), "unexpected argument `x` after --; see --help");
	expect_ok(load("--"));

	struct config_program p = run_prog;
	p.max_positional = -1;
	p.takes_rest = true;
	expect_ok(load_prog(&p, "a", "--slots", "2", "-", "b", "--", "--slots", "-x", NULL));
	size_t n = 0;
	char *const *pos = config_positional(c, &n);
	assert_int_equal(n, 3);
	assert_string_equal(pos[0], "a");
	assert_string_equal(pos[1], "-");
	assert_string_equal(pos[2], "b");
	assert_null(pos[3]);
	char *const *rest = config_rest(c, &n);
	assert_int_equal(n, 2);
	assert_string_equal(rest[0], "--slots");
	assert_string_equal(rest[1], "-x");
	assert_int_equal(config_get_number(c, "slots"), 2);

	p.max_positional = 1;
	expect_error(load_prog(&p, "a", "b", NULL), "unexpected argument `b`; see --help");
}

static void test_cli_errors(void **state)
{
	(void)state;
	expect_error(load("--foo"), "unknown option --foo; see --help");
	expect_error(load("--foo=bar"), "unknown option --foo; see --help");
	expect_error(load("-x"), "unknown option -x; see --help");
	expect_error(load("--slots"), "option --slots needs a value (NUMBER); see --help");
	expect_error(load("-b"), "option -b needs a value (SOCKADDR); see --help");
	expect_error(load("--slots", "abc"), "--slots: `abc` is not a number");
	expect_error(load("-s", "4x"), "-s: `4x` is not a number");
	expect_error(load("--slots=99999999999999999999"), "--slots: `99999999999999999999` is too large");
	expect_error(load("--cache-size", "1 XB"),
		     "--cache-size: `1 XB` is not a size: unknown unit `XB`; use B, KB, MB, GB, TB, "
		     "KiB, MiB, GiB or TiB");
	expect_error(load("--log-level", "loud"),
		     "--log-level: `loud` is not a log level; use error, warning, info or debug");
}

static void test_environment(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	/* The generic prefix is a fallback; the program's own wins. */
	setenv("MAELSTROM_BROKER", "generic:1", 1);
	expect_ok(load_none());
	assert_string_equal(config_get_string(c, "broker"), "generic:1");
	assert_string_equal(config_source(c, "broker"), "MAELSTROM_BROKER");
	setenv("MAELSTROM_RUN_BROKER", "own:2", 1);
	expect_ok(load_none());
	assert_string_equal(config_get_string(c, "broker"), "own:2");
	assert_string_equal(config_source(c, "broker"), "MAELSTROM_RUN_BROKER");
	expect_ok(load("-b", "cli:3"));
	assert_string_equal(config_get_string(c, "broker"), "cli:3");

	setenv("MAELSTROM_RUN_CACHE_SIZE", "512MiB", 1);
	expect_ok(load_none());
	assert_int_equal(config_get_size(c, "cache-size"), 512ULL << 20);

	/* Command-line-only options are not read from the environment. */
	setenv("MAELSTROM_RUN_ONE", "true", 1);
	setenv("MAELSTROM_RUN_FILE", "x", 1);
	expect_ok(load_none());
	assert_false(config_get_bool(c, "one"));
	assert_null(config_get_string(c, "file"));

	setenv("MAELSTROM_RUN_SLOTS", "abc", 1);
	expect_error(load_none(), "MAELSTROM_RUN_SLOTS: `abc` is not a number");
	/* A bad environment value is an error even when the command line
	 * overrides it: the user should know. */
	expect_error(load("--slots", "3"), "MAELSTROM_RUN_SLOTS: `abc` is not a number");
	unsetenv("MAELSTROM_RUN_SLOTS");
	setenv("MAELSTROM_RUN_CACHE_SIZE", "lots", 1);
	expect_error(load_none(), "MAELSTROM_RUN_CACHE_SIZE: `lots` is not a size; write a number "
				  "with an optional unit, like `1 GB`");
}

static void test_log_level(void **state)
{
	(void)state;
	expect_ok(load("-L", "debug"));
	assert_int_equal(log_get_level(), LOG_DEBUG);
	setenv("MAELSTROM_RUN_LOG_LEVEL", "error", 1);
	expect_ok(load_none());
	assert_int_equal(log_get_level(), LOG_ERROR);
	assert_string_equal(config_source(&fx->c, "log-level"), "MAELSTROM_RUN_LOG_LEVEL");
	expect_ok(load("--log-level=warning"));
	assert_int_equal(log_get_level(), LOG_WARNING);
	unsetenv("MAELSTROM_RUN_LOG_LEVEL");
	const char *path = write_config(fx->home, "log-level = \"loud\"\n");
	expect_errorf(load_none(),
		      "%s line 1: log-level: `loud` is not a log level; use error, warning, info or "
		      "debug", path);
}

/* ---- config files ---------------------------------------------------- */

static void test_file_precedence(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	write_config(fx->sys2, "slots = 2\nbroker = \"sys2\"\ncache-size = \"3 GB\"\n");
	write_config(fx->sys1, "slots = 1\nbroker = \"sys1\"\n");
	const char *home = write_config(fx->home, "# mine\n\nslots = 10\n");
	expect_ok(load_none());
	assert_int_equal(config_get_number(c, "slots"), 10);
	char want[2048];
	snprintf(want, sizeof(want), "%s line 3", home);
	assert_string_equal(config_source(c, "slots"), want);
	assert_string_equal(config_get_string(c, "broker"), "sys1");
	assert_int_equal(config_get_size(c, "cache-size"), 3000000000ULL);
	assert_int_equal(fx->c.n_files, 3);
	assert_string_equal(fx->c.files[2], home);

	/* Environment over files, command line over both. */
	setenv("MAELSTROM_RUN_SLOTS", "20", 1);
	expect_ok(load_none());
	assert_int_equal(config_get_number(c, "slots"), 20);
	expect_ok(load("-s", "30"));
	assert_int_equal(config_get_number(c, "slots"), 30);

	/* XDG_CONFIG_HOME unset: $HOME/.config. */
	unsetenv("XDG_CONFIG_HOME");
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", fx->dir, 1);
	size_t n = 0;
	char **paths = config_file_paths("run", &n);
	assert_int_equal(n, 3);
	snprintf(want, sizeof(want), "%s/.config/maelstrom/run/config.toml", fx->dir);
	assert_string_equal(paths[0], want);
	snprintf(want, sizeof(want), "%s/maelstrom/run/config.toml", fx->sys2);
	assert_string_equal(paths[2], want);
	assert_null(paths[3]);
	config_file_paths_free(paths);
	unsetenv("XDG_CONFIG_DIRS");
	paths = config_file_paths("run", &n);
	assert_int_equal(n, 2);
	assert_string_equal(paths[1], "/etc/xdg/maelstrom/run/config.toml");
	config_file_paths_free(paths);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	free(old_home);
}

static void test_config_file_option(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	write_config(fx->home, "slots = 10\n");
	char other[512];
	snprintf(other, sizeof(other), "%s/other.toml", fx->dir);
	write_config(other, "broker = \"only\"\n");
	expect_ok(load("-c", other));
	assert_int_equal(config_get_number(c, "slots"), 4);
	assert_string_equal(config_get_string(c, "broker"), "only");
	assert_int_equal(fx->c.n_files, 1);

	expect_ok(load("--config-file=-"));
	assert_int_equal(config_get_number(c, "slots"), 4);
	assert_int_equal(fx->c.n_files, 0);

	expect_errorf(load("--config-file", "/nonexistent/x.toml"),
		      "cannot read config file /nonexistent/x.toml: No such file or directory");
	/* A config file in the search path that cannot be read is an error;
	 * a missing one is not. */
	char dir_as_file[2048];
	snprintf(dir_as_file, sizeof(dir_as_file), "%s/maelstrom/run/config.toml", fx->sys1);
	assert_int_equal(mkdir(dir_as_file, 0755), 0);
	expect_errorf(load_none(), "cannot read config file %s: Is a directory", dir_as_file);
}

static void test_file_values(void **state)
{
	(void)state;
	struct config *c = &fx->c;
	char long_value[400];
	memset(long_value, 'y', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	char text[2048];
	snprintf(text, sizeof(text),
		 "\xEF\xBB\xBF# comment\r\n"
		 "broker = \"a # not a comment \\\"q\\\" \\u00e9\\t\" # comment\r\n"
		 "  slots=-1_000   \n"
		 "cache-size = 4096\n"
		 "enable-frobs = true # yes\n"
		 "layer = [ 'C:\\raw', \"b\" , ]\n"
		 "log-level = 'debug'\n"
		 "; not a TOML comment\n");
	const char *path = write_config(fx->home, text);
	expect_errorf(load_none(), "%s line 8: expected `name = value`, got `; not a TOML comment`",
		      path);

	snprintf(text, sizeof(text),
		 "\xEF\xBB\xBF# comment\r\n"
		 "broker = \"a # not a comment \\\"q\\\" \\u00e9\\t\" # comment\r\n"
		 "  slots=-1_000   \n"
		 "cache-size = 4096\n"
		 "enable-frobs = true # yes\n"
		 "layer = [ 'C:\\raw', \"b\" , ]\n"
		 "log-level = 'debug'\n"
		 "file-long = \"%s\"\n", long_value);
	/* file-long is unknown: shows a long line reaches the handler whole. */
	path = write_config(fx->home, text);
	expect_errorf(load_none(), "unknown configuration value `file-long` in %s line 8; see "
				   "`maelstrom-run --help` for valid names", path);

	text[strlen(text) - strlen(long_value) - 15] = '\0';
	write_config(fx->home, text);
	expect_ok(load_none());
	assert_string_equal(config_get_string(c, "broker"), "a # not a comment \"q\" \xC3\xA9\t");
	assert_int_equal(config_get_number(c, "slots"), -1000);
	assert_int_equal(config_get_size(c, "cache-size"), 4096);
	assert_true(config_get_bool(c, "enable-frobs"));
	size_t n = 0;
	char *const *l = config_get_list(c, "layer", &n);
	assert_int_equal(n, 2);
	assert_string_equal(l[0], "C:\\raw");
	assert_string_equal(l[1], "b");
	assert_string_equal(config_get_string(c, "log-level"), "debug");
	char want[2048];
	snprintf(want, sizeof(want), "%s line 2", path);
	assert_string_equal(config_source(c, "broker"), want);

	write_config(fx->home, "broker = \"x\\u0041\\U0001F600\"\nlayer = []\n");
	expect_ok(load_none());
	assert_string_equal(config_get_string(c, "broker"), "xA\xF0\x9F\x98\x80");
	assert_int_equal(config_get_list(c, "layer", &n)[0], NULL);
	assert_true(config_is_set(c, "layer"));
	/* inih's global settings are put back after each file. */
	assert_true(ini_allow_multiline);
	assert_true(ini_allow_inline_comments);
	assert_int_equal(ini_max_line, 200);
	assert_string_equal(ini_start_comment_prefixes, ";#");
}

/* Writes text as the home config file, loads, and expects the message
 * "<path> line <line>: <msg>". */
static void expect_file_error(const char *text, int line, const char *msg)
{
	const char *path = write_config(fx->home, text);
	expect_errorf(load_none(), "%s line %d: %s", path, line, msg);
}

static void test_file_errors(void **state)
{
	(void)state;
	const char *path = write_config(fx->home, "slots = 3\n\ncach-size = \"1 GB\"\n");
	expect_errorf(load_none(), "unknown configuration value `cach-size` in %s line 3; see "
				   "`maelstrom-run --help` for valid names", path);

	expect_file_error("slots = 1\n[run]\nslots = 2\n", 2,
			  "section headers like `[run]` are not supported; config files hold flat "
			  "`name = value` lines");
	expect_file_error("  [[directives]]\n", 1,
			  "section headers like `[[directives]]` are not supported; config files "
			  "hold flat `name = value` lines");
	expect_file_error("slots = 1\nfrobs\n", 2, "expected `name = value`, got `frobs`");
	expect_file_error("slots: 3\n", 1, "expected `name = value`, got `slots: 3`");
	expect_file_error("= 3\n", 1, "expected `name = value`, got `= 3`");
	expect_file_error("slots = 1\n# x\nslots = 2\n", 3, "slots is already set on line 1");
	expect_file_error("one = true\n", 1,
			  "one can only be given on the command line, not in a config file");
	expect_file_error("config-file = \"x\"\n", 1,
			  "config-file can only be given on the command line, not in a config file");

	expect_file_error("slots = abc\n", 1, "slots: `abc` is not a number");
	expect_file_error("slots = \"4\"\n", 1, "slots: expected a number, not a string; remove the quotes");
	expect_file_error("slots = [\"4\"]\n", 1, "slots: expected a number, not a list");
	expect_file_error("enable-frobs = yes\n", 1, "enable-frobs: `yes` is not true or false");
	expect_file_error("enable-frobs = \"true\"\n", 1,
			  "enable-frobs: expected true or false, not a string; remove the quotes");
	expect_file_error("broker = localhost\n", 1,
			  "broker: strings need quotes: broker = \"localhost\"");
	expect_file_error("broker = [\"a\"]\n", 1, "broker: expected a string, not a list");
	expect_file_error("cache-size = 1 GB\n", 1,
			  "cache-size: sizes with a unit need quotes: cache-size = \"1 GB\"");
	expect_file_error("cache-size = \"1 XB\"\n", 1,
			  "cache-size: `1 XB` is not a size: unknown unit `XB`; use B, KB, MB, GB, "
			  "TB, KiB, MiB, GiB or TiB");
	expect_file_error("layer = \"a\"\n", 1,
			  "layer: expected a list of strings like [\"a\"], not a string");
	expect_file_error("layer = a\n", 1, "layer: expected a list of strings like [\"a\"]");

	expect_file_error("broker = \"abc\n", 1, "broker: unterminated string; add the closing `\"`");
	expect_file_error("broker = 'abc\n", 1, "broker: unterminated string; add the closing `'`");
	expect_file_error("broker = \"a\\qb\"\n", 1,
			  "broker: unknown escape `\\q` in a string; write `\\\\` for a backslash");
	expect_file_error("broker = \"\\u12\"\n", 1, "broker: `\\u` needs 4 hex digits");
	expect_file_error("broker = \"\\uD800\"\n", 1, "broker: `\\uD800` is not a valid character");
	expect_file_error("broker = \"a\" b\n", 1, "broker: unexpected `b` after the value");
	expect_file_error("broker =\n", 1, "broker: missing value after `=`");
	expect_file_error("broker = # nothing\n", 1, "broker: missing value after `=`");
	expect_file_error("layer = [\"a\",\n  \"b\"]\n", 1,
			  "layer: unterminated list; write lists on one line, like [\"a\", \"b\"]");
	expect_file_error("layer = [\"a\" \"b\"]\n", 1,
			  "layer: expected `,` or `]` in the list, got `\"b\"]`");
	expect_file_error("layer = [1, 2]\n", 1,
			  "layer: lists hold strings in quotes, like [\"a\", \"b\"]");
	expect_file_error("layer = [\"a\"] x\n", 1, "layer: unexpected `x` after the value");
}

static void test_file_reader_direct(void **state)
{
	(void)state;
	/* config_file_read reports errno so callers can tell missing files. */
	struct err *e = NULL;
	assert_int_equal(config_file_read("/nonexistent/c.toml", NULL, NULL, &e), -1);
	assert_int_equal(e->errnum, 2 /* ENOENT */);
	err_free(&e);
	/* An empty file is fine. */
	const char *path = write_config(fx->home, "");
	assert_int_equal(config_file_read(path, NULL, NULL, &e), 0);
	assert_null(e);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("a = 1\0b = 2\n", 1, 12, f), 12);
	assert_int_equal(fclose(f), 0);
	char want[2048];
	snprintf(want, sizeof(want), "config file %s holds a NUL byte; config files are text", path);
	assert_int_equal(config_file_read(path, NULL, NULL, &e), -1);
	assert_string_equal(err_msg(e), want);
	err_free(&e);
}

/* ---- help, version, print-config ------------------------------------ */

static void test_help(void **state)
{
	(void)state;
	/* Help works even when a config file is broken: files are not read. */
	write_config(fx->home, "[broken]\n");
	assert_int_equal(load("--slots", "x", "--help"), CONFIG_EXIT);
	const char *h = config_output(&fx->c);
	assert_non_null(h);
	assert_non_null(strstr(h, "maelstrom-run 0.1.0\nRun jobs described as JSON.\n\n"
				  "Usage: maelstrom-run [OPTIONS]\n\nOptions:\n"
				  "  -b, --broker <SOCKADDR>\n"
				  "          Socket address of the broker.\n"
				  "          [string] [env: MAELSTROM_RUN_BROKER, MAELSTROM_BROKER]\n"));
	assert_non_null(strstr(h, "      --cache-size <SIZE>\n          Size of the local cache.\n"
				  "          [size, like 1 GB or 512 MiB] [default: 1 GB] [env: "
				  "MAELSTROM_RUN_CACHE_SIZE, MAELSTROM_CACHE_SIZE]\n"));
	assert_non_null(strstr(h, "  -1, --one\n          Run exactly one job.\n"
				  "          [flag] [command line only]\n"));
	assert_non_null(strstr(h, "      --enable-frobs\n          Turn frobs on.\n          [flag; true "
				  "or false in the environment and config files] [env: "
				  "MAELSTROM_RUN_ENABLE_FROBS, MAELSTROM_ENABLE_FROBS]\n"));
	assert_non_null(strstr(h, "  -L, --log-level <LEVEL>\n"));
	assert_non_null(strstr(h, "  -h, --help\n"));
	assert_non_null(strstr(h, "  -c, --config-file <FILE>\n"));
	char want[2048];
	snprintf(want, sizeof(want), "most preferred first:\n  %s/maelstrom/run/config.toml\n"
		 "  %s/maelstrom/run/config.toml\n  %s/maelstrom/run/config.toml\n",
		 fx->home, fx->sys1, fx->sys2);
	assert_non_null(strstr(h, want));

	char *first = strdup(h);
	assert_int_equal(load("-h"), CONFIG_EXIT);
	assert_string_equal(config_output(&fx->c), first);
	free(first);

	assert_int_equal(load("-V"), CONFIG_EXIT);
	assert_string_equal(config_output(&fx->c), "maelstrom-run 0.1.0\n");
	assert_int_equal(load("--version"), CONFIG_EXIT);
	assert_string_equal(config_output(&fx->c), "maelstrom-run 0.1.0\n");
}

static void test_print_config(void **state)
{
	(void)state;
	const char *path = write_config(fx->home, "slots = 6\nlayer = [\"a\\\"b\", \"c\"]\n");
	char saved[512];
	snprintf(saved, sizeof(saved), "%s", path);
	setenv("MAELSTROM_RUN_CACHE_SIZE", "2 GiB", 1);
	assert_int_equal(load("-P", "--enable-frobs", "-1"), CONFIG_EXIT);
	char want[2048];
	snprintf(want, sizeof(want),
		 "# maelstrom-run configuration; config files read: %s\n"
		 "# broker is not set\n"
		 "slots = 6  # %s line 1\n"
		 "cache-size = \"2 GiB\"  # MAELSTROM_RUN_CACHE_SIZE\n"
		 "enable-frobs = true  # --enable-frobs\n"
		 "layer = [\"a\\\"b\", \"c\"]  # %s line 2\n"
		 "log-level = \"info\"  # default\n",
		 saved, saved, saved);
	assert_string_equal(config_output(&fx->c), want);

	/* The output is a valid config file that gives the same values. */
	char copy[512];
	snprintf(copy, sizeof(copy), "%s/printed.toml", fx->dir);
	write_config(copy, want);
	expect_ok(load("-c", copy));
	assert_int_equal(config_get_number(&fx->c, "slots"), 6);
	assert_int_equal(config_get_size(&fx->c, "cache-size"), 2ULL << 30);
	assert_true(config_get_bool(&fx->c, "enable-frobs"));
	assert_string_equal(config_get_list(&fx->c, "layer", NULL)[0], "a\"b");

	assert_int_equal(load("--print-config", "-c", "-"), CONFIG_EXIT);
	assert_non_null(strstr(config_output(&fx->c), "config files read: none\n"));
}

/* ---- the option table ----------------------------------------------- */

static void test_table_errors(void **state)
{
	(void)state;
	struct config_option bad[] = {
		{ "help", 0, CONFIG_BOOL, NULL, NULL, "clash", 0 },
	};
	struct config_program p = run_prog;
	p.options = bad;
	p.n_options = 1;
	expect_error(load_prog(&p, NULL), "internal error: option help is defined twice");
	bad[0] = (struct config_option){ "helpful", 'c', CONFIG_BOOL, NULL, NULL, "clash", 0 };
	expect_error(load_prog(&p, NULL), "internal error: -c is both --helpful and --config-file");
	bad[0] = (struct config_option){ "Bad_Name", 0, CONFIG_BOOL, NULL, NULL, "x", 0 };
	expect_error(load_prog(&p, NULL), "internal error: bad option name `Bad_Name`");
	bad[0] = (struct config_option){ "jobs", 0, CONFIG_NUMBER, "many", NULL, "x", 0 };
	expect_error(load_prog(&p, NULL), "internal error: default of jobs: `many` is not a number");
	bad[0] = (struct config_option){ "words", 0, CONFIG_LIST, "a  b", NULL, "x", 0 };
	expect_ok(load_prog(&p, NULL));
	size_t n = 0;
	assert_string_equal(config_get_list(&fx->c, "words", &n)[1], "b");
	assert_int_equal(n, 2);
	/* No env prefixes: nothing is read from the environment. */
	p.env_prefixes = NULL;
	setenv("MAELSTROM_RUN_LOG_LEVEL", "debug", 1);
	expect_ok(load_prog(&p, NULL));
	assert_string_equal(config_get_string(&fx->c, "log-level"), "info");
	unsetenv("MAELSTROM_RUN_LOG_LEVEL");
}

static void test_env_name(void **state)
{
	(void)state;
	char *n = config_env_name("MAELSTROM_RUN", "cache-size");
	assert_string_equal(n, "MAELSTROM_RUN_CACHE_SIZE");
	free(n);
	assert_string_equal(config_value_name(&run_options[1]), "NUMBER");
	assert_string_equal(config_value_name(&run_options[0]), "SOCKADDR");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_cli_forms),
		T(test_flags),
		T(test_lists),
		T(test_positional_and_rest),
		T(test_cli_errors),
		T(test_environment),
		T(test_log_level),
		T(test_file_precedence),
		T(test_config_file_option),
		T(test_file_values),
		T(test_file_errors),
		T(test_file_reader_direct),
		T(test_help),
		T(test_print_config),
		T(test_table_errors),
		T(test_env_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
