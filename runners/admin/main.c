/*
 * maelstrom-admin: asks a broker for its status, or to stop.
 *
 *     maelstrom-admin --broker=HOST:PORT status [--json]
 *     maelstrom-admin --broker=HOST:PORT stop
 *
 * Exit status: 0 done, 1 the broker could not be reached or failed to
 * answer, 2 bad usage or configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/program.h"
#include "core/reactor.h"
#include "runners/admin/admin.h"

#define VERSION "0.1.0"

static const struct config_option options[] = {
	{"broker", 'b', CONFIG_STRING, NULL, "HOST:PORT", "The broker to talk to (required).", 0},
	{"json", 'j', CONFIG_BOOL, NULL, NULL,
	 "status: print the broker's status document as JSON instead of text.", CONFIG_CLI_ONLY},
	{"timeout", 't', CONFIG_NUMBER, "10", "SECONDS",
	 "Give up when the broker has not answered within this many seconds.", 0},
};

static const char *const env_prefixes[] = {"MAELSTROM_ADMIN", NULL};

static const struct config_program program = {
	.name = "maelstrom-admin",
	.version = VERSION,
	.config_dir = "admin",
	.env_prefixes = env_prefixes,
	.description = "Talks to a Maelstrom broker. `status` prints its workers, clients, "
		       "jobs and cache use; `stop` asks it to exit cleanly.",
	.usage = "maelstrom-admin [OPTIONS] status [--json]\n       "
		 "maelstrom-admin [OPTIONS] stop",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
	.max_positional = 1,
	.takes_rest = false,
};

/* Reads the command and checks the configuration. */
static int check_config(const struct config *cfg, void *arg, struct err **err)
{
	enum admin_command *cmd = arg;
	size_t n;
	char *const *pos = config_positional(cfg, &n);
	if (n == 0)
		return err_set(err, 0, "no command given: use `status` or `stop` (see --help)");
	if (strcmp(pos[0], "status") == 0)
		*cmd = ADMIN_STATUS;
	else if (strcmp(pos[0], "stop") == 0)
		*cmd = ADMIN_STOP;
	else
		return err_set(err, 0, "unknown command `%s`: use `status` or `stop`", pos[0]);
	if (*cmd == ADMIN_STOP && config_get_bool(cfg, "json"))
		return err_set(err, 0, "--json only applies to `status`");
	const char *broker = config_get_string(cfg, "broker");
	if (!broker || !*broker) {
		char *env = config_env_name(env_prefixes[0], "broker");
		size_t nfiles;
		char **files = config_file_paths(program.config_dir, &nfiles);
		err_set(err, 0, "no broker given: pass --broker=HOST:PORT, set %s=HOST:PORT, or "
			"put `broker = \"HOST:PORT\"` in %s", env,
			nfiles ? files[0] : "the config file");
		config_file_paths_free(files);
		free(env);
		return -1;
	}
	int64_t t = config_get_number(cfg, "timeout");
	if (t <= 0 || t > 86400)
		return err_set(err, 0, "%s: the timeout must be between 1 and 86400 seconds, "
			       "not %lld", config_source(cfg, "timeout"), (long long)t);
	return 0;
}

/* Prints the status document as asked. */
static int print_status(const char *text, bool raw, struct err **err)
{
	json_error_t jerr;
	json_t *status = json_loads(text, 0, &jerr);
	if (!status)
		return err_set(err, 0, "the broker's status is not valid JSON: %s", jerr.text);
	if (raw) {
		char *pretty = json_dumps(status, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (pretty)
			printf("%s\n", pretty);
		free(pretty);
	} else {
		struct buf out = BUF_INIT;
		admin_format_status(&out, status);
		fputs(out.data, stdout);
		buf_release(&out);
	}
	json_decref(status);
	return 0;
}

static int run(const struct config *cfg, enum admin_command cmd, struct err **err)
{
	struct reactor *r;
	if (reactor_new(&r, 0, err) < 0)
		return -1;
	const char *broker = config_get_string(cfg, "broker");
	uint64_t timeout = (uint64_t)config_get_number(cfg, "timeout") * 1000000000ull;
	char *json = NULL;
	int rc = admin_run(r, broker, cmd, timeout, &json, err);
	reactor_free(r);
	if (rc == 0 && cmd == ADMIN_STATUS)
		rc = print_status(json, config_get_bool(cfg, "json"), err);
	else if (rc == 0)
		printf("the broker at %s is stopping\n", broker);
	free(json);
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	enum admin_command cmd = ADMIN_STATUS;
	int rc = program_load_config(&cfg, &program, argc, argv, check_config, &cmd);
	if (rc >= 0)
		return rc;
	int status = 0;
	struct err *err = NULL;
	if (run(&cfg, cmd, &err) < 0) {
		program_log_error(&err);
		status = 1;
	}
	config_release(&cfg);
	if (fflush(stdout) != 0) {
		log_error("cannot write the output");
		status = 1;
	}
	return status;
}
