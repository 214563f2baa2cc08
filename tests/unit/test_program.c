#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/program.h"

static const struct config_option options[] = {
	{"slots", 's', CONFIG_NUMBER, "4", "N", "Slots.", 0},
};

static const char *const env_prefixes[] = {"H27_TEST_PROGRAM", NULL};

static const struct config_program prog = {
	.name = "test-program",
	.version = "9.8.7",
	.config_dir = "test-program",
	.env_prefixes = env_prefixes,
	.description = "A program for the tests.",
	.options = options,
	.n_options = 1,
	.max_positional = 0,
};

struct fixture {
	char dir[1024];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_program.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	int rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Runs program_load_config with stdout sent to a file; returns its result
 * and what it printed in out. */
static int load(struct fixture *f, struct config *cfg, char **argv, program_check_fn *check,
		void *arg, char *out, size_t size)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/stdout", f->dir);
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	int argc = 0;
	while (argv[argc])
		argc++;
	int rc = program_load_config(cfg, &prog, argc, argv, check, arg);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	FILE *in = fopen(path, "r");
	assert_non_null(in);
	size_t n = fread(out, 1, size - 1, in);
	out[n] = '\0';
	fclose(in);
	return rc;
}

static void test_version_and_help(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	char out[8192];
	char *version[] = {"test-program", "-c", "-", "--version", NULL};
	assert_int_equal(load(f, &cfg, version, NULL, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "test-program 9.8.7\n");
	char *help[] = {"test-program", "-c", "-", "--help", NULL};
	assert_int_equal(load(f, &cfg, help, NULL, NULL, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "A program for the tests."));
}

static void test_bad_usage(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	char out[256];
	char *bad[] = {"test-program", "-c", "-", "--no-such-option", NULL};
	assert_int_equal(load(f, &cfg, bad, NULL, NULL, out, sizeof(out)), 2);
	assert_string_equal(out, "");
}

static int check_slots(const struct config *cfg, void *arg, struct err **err)
{
	int *calls = arg;
	(*calls)++;
	if (config_get_number(cfg, "slots") > 10)
		return err_set(err, 0, "too many slots");
	return 0;
}

static void test_check_and_continue(void **state)
{
	struct fixture *f = *state;
	struct config cfg;
	char out[256];
	int calls = 0;
	char *many[] = {"test-program", "-c", "-", "--slots", "11", NULL};
	assert_int_equal(load(f, &cfg, many, check_slots, &calls, out, sizeof(out)), 2);
	assert_int_equal(calls, 1);
	char *ok[] = {"test-program", "-c", "-", "-s", "3", NULL};
	assert_int_equal(load(f, &cfg, ok, check_slots, &calls, out, sizeof(out)), -1);
	assert_int_equal(calls, 2);
	assert_int_equal(config_get_number(&cfg, "slots"), 3);
	config_release(&cfg);
	/* --version never reaches the check. */
	char *version[] = {"test-program", "-c", "-", "-V", NULL};
	assert_int_equal(load(f, &cfg, version, check_slots, &calls, out, sizeof(out)), 0);
	assert_int_equal(calls, 2);
}

static void test_cache_path(void **state)
{
	struct fixture *f = *state;
	char configured[1100], want[1200];
	snprintf(configured, sizeof(configured), "%s/cache/root", f->dir);
	struct err *err = NULL;
	char *p = program_cache_path(configured, "unused", "artifacts", &err);
	assert_non_null(p);
	snprintf(want, sizeof(want), "%s/artifacts", configured);
	assert_string_equal(p, want);
	struct stat st;
	assert_int_equal(stat(configured, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(p);

	/* Unset: under $XDG_CACHE_HOME. */
	char *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	setenv("XDG_CACHE_HOME", f->dir, 1);
	p = program_cache_path(NULL, "maelstrom/x", "a", &err);
	snprintf(want, sizeof(want), "%s/maelstrom/x/a", f->dir);
	assert_non_null(p);
	assert_string_equal(p, want);
	free(p);
	if (old)
		setenv("XDG_CACHE_HOME", old, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	free(old);

	/* A file in the way. */
	char file[1100], below[1200];
	snprintf(file, sizeof(file), "%s/file", f->dir);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(below, sizeof(below), "%s/sub", file);
	assert_null(program_cache_path(below, "unused", "artifacts", &err));
	assert_non_null(err);
	char prefix[1300];
	snprintf(prefix, sizeof(prefix), "cache-root %s: ", below);
	assert_int_equal(strncmp(err_msg(err), prefix, strlen(prefix)), 0);
	err_free(&err);
}

/* In a child: blocks signo and catches it, then ends by it. */
static int exit_status_of(int signo)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(signo, SIG_IGN);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, signo);
		sigprocmask(SIG_BLOCK, &set, NULL);
		program_exit_signal(signo);
		_exit(7);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_exit_signal(void **state)
{
	(void)state;
	int status = exit_status_of(SIGTERM);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	/* A signal whose default is to be ignored: the call returns. */
	status = exit_status_of(SIGCHLD);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_and_help),
		cmocka_unit_test(test_bad_usage),
		cmocka_unit_test(test_check_and_continue),
		cmocka_unit_test(test_cache_path),
		cmocka_unit_test(test_exit_signal),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
