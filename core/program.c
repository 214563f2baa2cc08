#include "core/program.h"

#include <signal.h>
#include <stdio.h>

#include "core/cleanup.h"
#include "core/dirs.h"
#include "core/log.h"
#include "core/xalloc.h"

int program_load_config(struct config *cfg, const struct config_program *prog, int argc,
			char **argv, program_check_fn *check, void *arg)
{
	log_set_program(prog->name);
	config_init(cfg);
	struct err *err = NULL;
	int rc = config_load(cfg, prog, argc, argv, &err);
	if (rc == CONFIG_EXIT) {
		fputs(config_output(cfg), stdout);
		config_release(cfg);
		return 0;
	}
	if (rc < 0 || (check && check(cfg, arg, &err) < 0)) {
		program_log_error(&err);
		config_release(cfg);
		return 2;
	}
	return -1;
}

void program_log_error(struct err **err)
{
	log_error("%s", err_msg(*err));
	err_free(err);
}

char *program_cache_path(const char *configured, const char *suffix, const char *name,
			 struct err **err)
{
	_cleanup_free_ char *root = dirs_resolve(configured, "XDG_CACHE_HOME", ".cache", suffix);
	if (dirs_make(root, err) < 0) {
		err_wrap(err, "cache-root %s", root);
		return NULL;
	}
	return xasprintf("%s/%s", root, name);
}

void program_exit_signal(int signo)
{
	signal(signo, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, signo);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(signo);
}
