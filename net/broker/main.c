/*
 * maelstrom-broker: the cluster's coordinator. Accepts clients, workers and
 * monitors on `port`, keeps the job queue and the artifact cache, and
 * serves a status page and JSON API on `http-port`. Runs until SIGINT,
 * SIGTERM or a monitor's stop request (exit 0).
 */
#include <signal.h>
#include <string.h>

#include "artifacts/store.h"
#include "core/cleanup.h"
#include "core/config.h"
#include "core/log.h"
#include "core/program.h"
#include "core/reactor.h"
#include "net/broker/broker.h"
#include "net/http.h"

#define VERSION "0.1.0"

static const struct config_option options[] = {
	{"port", 'p', CONFIG_NUMBER, "0", "PORT",
	 "Port to listen on for clients, workers and monitors (0: any free port, which is "
	 "logged).", 0},
	{"http-port", 0, CONFIG_NUMBER, "0", "PORT",
	 "Port of the status web page and JSON API, /api/status (0: any free port, which is "
	 "logged).", 0},
	{"cache-root", 0, CONFIG_STRING, NULL, "PATH",
	 "Cache directory (default $XDG_CACHE_HOME/maelstrom/broker).", 0},
	{"cache-size", 0, CONFIG_SIZE, "1 GB", NULL,
	 "Target disk space for the artifact cache; unused entries beyond it are removed.", 0},
};

static const char *const env_prefixes[] = {"MAELSTROM_BROKER", "MAELSTROM", NULL};

static const struct config_program program = {
	.name = "maelstrom-broker",
	.version = VERSION,
	.config_dir = "broker",
	.env_prefixes = env_prefixes,
	.description = "Coordinates a Maelstrom cluster: takes jobs from clients, collects the "
		       "artifacts they need, schedules them on workers and returns the results. "
		       "Serves a status page over HTTP.",
	.usage = "maelstrom-broker [OPTIONS]",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
	.max_positional = 0,
	.takes_rest = false,
};

static void on_stop_signal(struct reactor *r, int signo, void *arg)
{
	(void)arg;
	log_info("%s: stopping", strsignal(signo));
	reactor_stop(r);
}

static int get_port(const struct config *cfg, const char *name, uint16_t *out, struct err **err)
{
	int64_t port = config_get_number(cfg, name);
	if (port < 0 || port > 65535)
		return err_set(err, 0, "%s: %s must be between 0 and 65535 (0: any free port)",
			       config_source(cfg, name), name);
	*out = (uint16_t)port;
	return 0;
}

static int open_store(const struct config *cfg, struct store **out, struct err **err)
{
	_cleanup_free_ char *dir = program_cache_path(config_get_string(cfg, "cache-root"),
						      "maelstrom/broker", "artifacts", err);
	return dir ? store_open(out, dir, config_get_size(cfg, "cache-size"), err) : -1;
}

static int run(const struct config *cfg, struct err **err)
{
	struct broker_config bc = {.cache_size = config_get_size(cfg, "cache-size")};
	uint16_t http_port;
	if (get_port(cfg, "port", &bc.port, err) < 0 || get_port(cfg, "http-port", &http_port, err) < 0)
		return -1;
	struct reactor *r = NULL;
	struct store *store = NULL;
	struct broker *b = NULL;
	struct http_server *http = NULL;
	int rc = -1;
	if (reactor_new(&r, 0, err) < 0)
		return -1;
	if (reactor_on_signal(r, SIGINT, on_stop_signal, NULL, err) < 0 ||
	    reactor_on_signal(r, SIGTERM, on_stop_signal, NULL, err) < 0)
		goto out;
	/* A peer that vanishes mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (open_store(cfg, &store, err) < 0)
		goto out;
	if (broker_new(&b, r, store, &bc, err) < 0)
		goto out;
	log_info("listening on port %u", (unsigned)broker_port(b));
	http = http_server_new(r, http_port, broker_http_handle, b, err);
	if (!http) {
		err_wrap(err, "status page (http-port)");
		goto out;
	}
	log_info("http on port %u", (unsigned)http_server_port(http));
	rc = reactor_run(r, err);
	if (rc == 0)
		log_info("stopped");
out:
	http_server_free(http);
	broker_free(b);
	store_free(store);
	reactor_free(r);
	return rc;
}

int main(int argc, char **argv)
{
	struct config cfg;
	int rc = program_load_config(&cfg, &program, argc, argv, NULL, NULL);
	if (rc >= 0)
		return rc;
	struct err *err = NULL;
	rc = run(&cfg, &err) < 0 ? 1 : 0;
	if (rc)
		program_log_error(&err);
	config_release(&cfg);
	return rc;
}
