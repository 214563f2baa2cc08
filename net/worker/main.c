/*
 * maelstrom-worker: a cluster node. Connects to the broker, receives jobs,
 * fetches the layers it lacks, runs each job in its own container and sends
 * the results back. Losing the broker kills the running jobs and starts a
 * reconnect loop; only SIGINT/SIGTERM (exit 0) or a broker that refuses us
 * (exit 1) end the process.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/store.h"
#include "core/cleanup.h"
#include "core/config.h"
#include "core/log.h"
#include "core/program.h"
#include "core/reactor.h"
#include "net/addr.h"
#include "net/worker/worker.h"

#define VERSION "0.1.0"

static const struct config_option options[] = {
	{"broker", 'b', CONFIG_STRING, NULL, "HOST:PORT",
	 "Socket address of the broker (required), e.g. broker.example.org:1234, "
	 "192.0.2.3:1234 or [2001:db8::3]:1234.", 0},
	{"slots", 's', CONFIG_NUMBER, NULL, "N", "Job slots: jobs run at once (default: one per CPU).",
	 0},
	{"cache-root", 0, CONFIG_STRING, NULL, "PATH",
	 "Cache directory (default $XDG_CACHE_HOME/maelstrom/worker).", 0},
	{"cache-size", 0, CONFIG_SIZE, "1 GB", NULL,
	 "Target disk space for the artifact cache; unused entries beyond it are removed.", 0},
	{"inline-limit", 0, CONFIG_SIZE, "1 MB", NULL,
	 "Most standard output (and, separately, error) kept per job; the rest is counted and "
	 "dropped.", 0},
};

static const char *const env_prefixes[] = {"MAELSTROM_WORKER", NULL};

static const struct config_program program = {
	.name = "maelstrom-worker",
	.version = VERSION,
	.config_dir = "worker",
	.env_prefixes = env_prefixes,
	.description = "Runs jobs for a Maelstrom broker, each in its own lightweight container, "
		       "as many at once as it has slots. Reconnects when the broker goes away.",
	.usage = "maelstrom-worker --broker HOST:PORT [OPTIONS]",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
	.max_positional = 0,
	.takes_rest = false,
};

struct main_state {
	struct reactor *r;
	int exit_code;
};

static void on_stop_signal(struct reactor *r, int signo, void *arg)
{
	(void)arg;
	log_info("%s: killing every job and exiting", strsignal(signo));
	reactor_stop(r);
}

/* The broker refused us: retrying would not help. */
static void on_fatal(void *arg, const char *message)
{
	struct main_state *m = arg;
	log_error("%s", message);
	m->exit_code = 1;
	reactor_stop(m->r);
}

static int check_config(const struct config *cfg, void *arg, struct err **err)
{
	(void)arg;
	const char *broker = config_get_string(cfg, "broker");
	if (!broker || !*broker)
		return err_set(err, 0, "no broker configured: give its address with --broker "
			       "HOST:PORT (or MAELSTROM_WORKER_BROKER, or `broker` in the config "
			       "file)");
	char *host = NULL, *port = NULL;
	if (addr_split(broker, &host, &port, err) < 0)
		return err_wrap(err, "%s", config_source(cfg, "broker"));
	free(host);
	free(port);
	if (config_is_set(cfg, "slots")) {
		int64_t slots = config_get_number(cfg, "slots");
		if (slots < 1 || slots > 1000000)
			return err_set(err, 0, "%s: slots must be between 1 and 1000000",
				       config_source(cfg, "slots"));
	}
	return 0;
}

static int open_store(const struct config *cfg, struct store **out, struct err **err)
{
	_cleanup_free_ char *dir = program_cache_path(config_get_string(cfg, "cache-root"),
						      "maelstrom/worker", "artifacts", err);
	return dir ? store_open(out, dir, config_get_size(cfg, "cache-size"), err) : -1;
}

static int run(const struct config *cfg, struct main_state *m, struct err **err)
{
	struct store *store = NULL;
	struct worker *w = NULL;
	int rc = -1;
	if (reactor_new(&m->r, 0, err) < 0)
		return -1;
	if (reactor_on_signal(m->r, SIGINT, on_stop_signal, m, err) < 0 ||
	    reactor_on_signal(m->r, SIGTERM, on_stop_signal, m, err) < 0)
		goto out;
	/* A broker that vanishes mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (open_store(cfg, &store, err) < 0)
		goto out;
	struct worker_config wc = {
		.broker = config_get_string(cfg, "broker"),
		.exec = {
			.slots = config_is_set(cfg, "slots") ?
					 (unsigned)config_get_number(cfg, "slots") : 0,
			.inline_limit = config_get_size(cfg, "inline-limit"),
		},
		.max_artifact_size = config_get_size(cfg, "cache-size"),
		.on_fatal = on_fatal,
		.arg = m,
	};
	if (worker_new(&w, m->r, store, &wc, err) < 0)
		goto out;
	worker_start(w);
	rc = reactor_run(m->r, err);
out:
	worker_free(w);
	store_free(store);
	reactor_free(m->r);
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	int rc = program_load_config(&cfg, &program, argc, argv, check_config, NULL);
	if (rc >= 0)
		return rc;
	struct main_state m = {0};
	struct err *err = NULL;
	if (run(&cfg, &m, &err) < 0) {
		program_log_error(&err);
		m.exit_code = 1;
	}
	config_release(&cfg);
	return m.exit_code;
}
