/*
 * maelstrom-run: runs jobs described by a stream of JSON job specs, each in
 * its own container. Default mode: every job starts as soon as it is parsed,
 * and its output is printed whole when it ends. --one: exactly one job,
 * whose exit status (or killing signal) becomes ours. --tty: --one on a
 * pseudo-terminal connected to ours (runners/run/tty_mode.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/store.h"
#include "core/cleanup.h"
#include "core/config.h"
#include "core/jsonstream.h"
#include "core/log.h"
#include "core/program.h"
#include "core/reactor.h"
#include "core/spec_json.h"
#include "core/strv.h"
#include "core/xalloc.h"
#include "runners/client.h"
#include "runners/client_stack.h"
#include "core/dirs.h"
#include "runners/run/one_spec.h"
#include "runners/run/report.h"
#include "runners/run/tty_escape.h"
#include "runners/run/tty_mode.h"

#define VERSION "0.1.0"

static const struct config_option options[] = {
	{"file", 'f', CONFIG_STRING, NULL, "PATH",
	 "Read job specs from PATH instead of standard input.", CONFIG_CLI_ONLY},
	{"one", '1', CONFIG_BOOL, NULL, NULL,
	 "Run exactly one job and end the way it ended (its exit code, or killed by its "
	 "signal). Positional arguments replace the job's program and arguments.",
	 CONFIG_CLI_ONLY},
	{"tty", 't', CONFIG_BOOL, NULL, NULL,
	 "Run one job interactively, like `docker exec -it`: the job gets a pseudo-terminal "
	 "connected to this one (raw mode, window size followed) and maelstrom-run ends the "
	 "way it ended. The job spec is read from standard input up to its closing brace, or "
	 "from -f FILE; positional arguments (after `--` when one starts with a dash) replace "
	 "its program and arguments. Always runs on the local worker, even when a broker is "
	 "configured. See --escape-char.",
	 CONFIG_CLI_ONLY},
	{"cache-size", 0, CONFIG_SIZE, "1 GB", NULL,
	 "Target disk space for the local worker's artifact cache.", 0},
	{"inline-limit", 0, CONFIG_SIZE, "1 MB", NULL,
	 "Most standard output (and, separately, error) kept per job; the rest is counted "
	 "and dropped.", 0},
	{"slots", 's', CONFIG_NUMBER, NULL, "N", "Jobs run at once (default: one per CPU).", 0},
	{"container-image-depot-root", 0, CONFIG_STRING, NULL, "PATH",
	 "Container image cache (default $XDG_CACHE_HOME/maelstrom/containers).", 0},
	{"accept-invalid-remote-container-tls-certs", 0, CONFIG_BOOL, NULL, NULL,
	 "Accept invalid TLS certificates from container registries.", 0},
	{"container-registry-plain-http", 0, CONFIG_STRING, NULL, "HOSTS",
	 "Registries (comma-separated HOST or HOST:PORT) spoken to in plain HTTP besides loopback.", 0},
	{"broker", 'b', CONFIG_STRING, NULL, "HOST:PORT",
	 "Broker to send jobs to (cluster mode); unset means standalone.", 0},
	{"state-root", 0, CONFIG_STRING, NULL, "PATH",
	 "State directory (default $XDG_STATE_HOME/maelstrom/run).", 0},
	{"cache-root", 0, CONFIG_STRING, NULL, "PATH",
	 "Local worker cache directory (default $XDG_CACHE_HOME/maelstrom/run).", 0},
	{"escape-char", 'e', CONFIG_STRING, "^]", "CHAR",
	 "Escape character for --tty mode: one ASCII character, caret notation (^]) or a byte "
	 "literal (\\x1d). Followed by ^C it detaches (the job is killed, the exit status is "
	 "1), by ^Z it suspends maelstrom-run, by itself it goes once to the job; followed by "
	 "anything else, or by nothing for 1.5 s, it goes to the job as typed.", 0},
};

static const char *const env_prefixes[] = {"MAELSTROM_RUN", "MAELSTROM", NULL};

static const struct config_program program = {
	.name = "maelstrom-run",
	.version = VERSION,
	.config_dir = "run",
	.env_prefixes = env_prefixes,
	.description = "Runs each job of a stream of JSON job specifications in its own "
		       "lightweight container, in parallel, printing each job's output when "
		       "it ends. Exits 0 when every job exited 0.",
	.usage = "maelstrom-run [OPTIONS] [-f FILE]\n       maelstrom-run --one [OPTIONS] "
		 "[PROGRAM [ARGUMENTS...]]\n       maelstrom-run --tty [OPTIONS] [-f FILE] "
		 "[--] [PROGRAM [ARGUMENTS...]]",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
	.max_positional = -1,
	.takes_rest = true,
};

/* The whole program's state. */
struct run {
	struct reactor *r;
	struct client *client;
	struct jsonstream *js;
	int in_fd;
	bool input_done;
	bool one;
	bool tty;                /* --tty (also uses one_args, one_status, one_signal) */
	unsigned char escape;    /* --tty: escape-char */
	char **one_args;         /* --one, --tty: replacement program and arguments */
	size_t n_one_args;
	size_t submitted;
	bool failed;             /* some job failed or was rejected */
	int one_status;          /* --one: how to end */
	int one_signal;
	int stop_signal;         /* SIGINT/SIGTERM received */
};

static void maybe_finish(struct run *run)
{
	if (run->input_done && client_outstanding(run->client) == 0)
		reactor_stop(run->r);
}

struct job_ctx {
	struct run *run;
	size_t index;
};

static void on_job_done(void *arg, uint64_t id, struct job_result *res)
{
	struct job_ctx *ctx = arg;
	struct run *run = ctx->run;
	(void)id;
	char label[32];
	snprintf(label, sizeof(label), "job %zu", ctx->index);
	if (res->worker)
		log_debug("%s ran on %s", label, res->worker);
	if (!report_job(run->one ? NULL : label, res))
		run->failed = true;
	if (run->one)
		run->one_status = report_exit_status(res, &run->one_signal);
	job_result_free(res);
	free(ctx);
	maybe_finish(run);
}

static void reject(struct run *run, const struct json_pos *pos, const char *msg)
{
	run->failed = true;
	run->one_status = 1;
	if (run->one)
		log_error("job spec at line %zu column %zu: %s", pos->line, pos->column, msg);
	else
		log_error("job %zu (line %zu column %zu): %s; the other jobs still run",
			  pos->index, pos->line, pos->column, msg);
}

/* --one: positional arguments replace the program and its arguments. */
static void replace_program(struct run *run, struct job_spec *spec)
{
	if (run->n_one_args == 0)
		return;
	free(spec->program);
	strv_free(spec->arguments);
	spec->program = strdup(run->one_args[0]);
	spec->arguments = strv_dup((const char *const *)run->one_args + 1);
	spec->n_arguments = run->n_one_args - 1;
}

static void on_value(void *arg, json_t *value, const struct json_pos *pos)
{
	struct run *run = arg;
	if (run->one && pos->index > 1) {
		if (pos->index == 2)
			reject(run, pos, "--one runs exactly one job, but the input holds more; "
				    "drop --one to run a stream");
		json_decref(value);
		return;
	}
	struct job_spec spec = {0};
	struct err *err = NULL;
	int rc = job_spec_from_json(value, &spec, &err);
	json_decref(value);
	if (rc < 0) {
		reject(run, pos, err_msg(err));
		err_free(&err);
		job_spec_release(&spec);
		return;
	}
	if (run->one)
		replace_program(run, &spec);
	struct job_ctx *ctx = malloc(sizeof(*ctx));
	if (!ctx)
		abort();
	ctx->run = run;
	ctx->index = pos->index;
	run->submitted++;
	client_submit(run->client, &spec, on_job_done, ctx);
}

/* The reader's messages already name the job and where it starts. */
static void on_parse_error(void *arg, const struct json_pos *pos, const char *msg)
{
	struct run *run = arg;
	(void)pos;
	run->failed = true;
	run->one_status = 1;
	log_error("%s%s", msg, run->one ? "" : "; the other jobs still run");
}

static void input_ended(struct run *run)
{
	run->input_done = true;
	jsonstream_finish(run->js);
	if (run->one && run->submitted == 0 && !run->failed) {
		log_error("no job spec in the input; give one JSON job spec on standard input "
			  "or with -f FILE");
		run->failed = true;
		run->one_status = 1;
	}
	maybe_finish(run);
}

static void on_input(struct reactor *r, int fd, uint32_t events, void *arg)
{
	struct run *run = arg;
	char chunk[65536];
	(void)events;
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		jsonstream_feed(run->js, chunk, (size_t)n);
		return;
	}
	if (n < 0)
		log_error("reading job specs: %s", strerror(errno));
	reactor_del_fd(r, fd);
	input_ended(run);
}

/* Regular files cannot be polled: read them in one go (jobs still start as
 * they are parsed, since submitting never waits). */
static int read_whole_fd(struct run *run, struct err **err)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(run->in_fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "reading job specs");
		if (n == 0)
			break;
		jsonstream_feed(run->js, chunk, (size_t)n);
	}
	input_ended(run);
	return 0;
}

static void on_stop_signal(struct reactor *r, int signo, void *arg)
{
	struct run *run = arg;
	run->stop_signal = signo;
	log_warning("%s: stopping every job", strsignal(signo));
	reactor_stop(r);
}

static int open_input(struct run *run, const struct config *cfg, struct err **err)
{
	const char *file = config_get_string(cfg, "file");
	if (!file || strcmp(file, "-") == 0) {
		run->in_fd = STDIN_FILENO;
		return 0;
	}
	run->in_fd = open(file, O_RDONLY | O_CLOEXEC);
	if (run->in_fd < 0)
		return err_set(err, errno, "--file %s", file);
	return 0;
}

static int start_input(struct run *run, struct err **err)
{
	struct stat st;
	if (fstat(run->in_fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		return read_whole_fd(run, err);
	int fl = fcntl(run->in_fd, F_GETFL);
	if (fl >= 0)
		fcntl(run->in_fd, F_SETFL, fl | O_NONBLOCK);
	return reactor_add_fd(run->r, run->in_fd, EPOLLIN, on_input, run, err);
}

static int check_config(const struct config *cfg, void *arg, struct err **err)
{
	(void)arg;
	bool tty = config_get_bool(cfg, "tty");
	if (tty && config_get_bool(cfg, "one"))
		return err_set(err, 0, "--one and --tty cannot be used together; --tty already "
			       "runs exactly one job");
	unsigned char esc;
	if (tty && tty_escape_parse(config_get_string(cfg, "escape-char"), &esc, err) < 0)
		return err_wrap(err, "%s", config_source(cfg, "escape-char"));
	if (config_is_set(cfg, "slots") && config_get_number(cfg, "slots") < 1)
		return err_set(err, 0, "%s: slots must be at least 1", config_source(cfg, "slots"));
	size_t n_pos = 0, n_rest = 0;
	config_positional(cfg, &n_pos);
	config_rest(cfg, &n_rest);
	if ((n_pos || n_rest) && !config_get_bool(cfg, "one") && !tty)
		return err_set(err, 0, "positional arguments are only accepted with --one or "
			       "--tty; put the program in the job spec instead");
	return 0;
}

struct objects {
	struct client_stack stack;
	char *cache_root;
};

static int build_objects(struct run *run, const struct config *cfg, struct objects *o,
			 struct err **err)
{
	o->cache_root = dirs_resolve(config_get_string(cfg, "cache-root"), "XDG_CACHE_HOME",
				     ".cache", "maelstrom/run");
	if (dirs_make(o->cache_root, err) < 0)
		return err_wrap(err, "cache-root");
	_cleanup_free_ char *artifacts = xasprintf("%s/artifacts", o->cache_root);
	if (store_open(&o->stack.store, artifacts, config_get_size(cfg, "cache-size"), err) < 0)
		return -1;
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return err_set(err, errno, "finding the current directory");
	int rc = client_stack_open(&o->stack, run->r, cfg, cwd, err);
	run->client = o->stack.client;
	return rc;
}

static void free_objects(struct objects *o)
{
	client_stack_release(&o->stack);
	free(o->cache_root);
}

static int run_main(struct run *run, const struct config *cfg, struct err **err)
{
	struct objects o = {0};
	int rc = -1;
	if (reactor_new(&run->r, 0, err) < 0)
		return -1;
	if (build_objects(run, cfg, &o, err) < 0)
		goto out;
	if (reactor_on_signal(run->r, SIGINT, on_stop_signal, run, err) < 0 ||
	    reactor_on_signal(run->r, SIGTERM, on_stop_signal, run, err) < 0 ||
	    reactor_on_signal(run->r, SIGHUP, on_stop_signal, run, err) < 0)
		goto out;
	/* A reader that goes away must not kill us with SIGPIPE mid-report. */
	signal(SIGPIPE, SIG_IGN);
	run->js = jsonstream_new("job", on_value, on_parse_error, run);
	if (start_input(run, err) < 0)
		goto out;
	rc = reactor_run(run->r, err);
out:
	free_objects(&o);
	jsonstream_free(run->js);
	reactor_free(run->r);
	return rc;
}

/* --tty: the terminal the user types on. Standard input when it is one;
 * when the spec came on a standard input that is not (a pipe, a
 * here-string), the controlling terminal if there is one, as `less` does;
 * otherwise standard input as it is, with no terminal to set up. Returns
 * the descriptor it opened (the caller closes it), or -1. */
static int pick_terminal(bool spec_on_stdin, struct tty_session_config *tc)
{
	tc->in_fd = STDIN_FILENO;
	tc->out_fd = STDOUT_FILENO;
	tc->term_fd = -1;
	if (isatty(STDIN_FILENO)) {
		tc->term_fd = STDIN_FILENO;
		return -1;
	}
	if (!spec_on_stdin)
		return -1;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		tc->in_fd = fd;
		tc->term_fd = fd;
	}
	return fd;
}

/* --tty: the spec first, while the terminal is untouched, then the session. */
static int run_tty(struct run *run, const struct config *cfg, struct err **err)
{
	struct job_spec spec;
	bool on_stdin = run->in_fd == STDIN_FILENO;
	if (one_spec_read(run->in_fd, on_stdin ? "standard input" : config_get_string(cfg, "file"),
			  &spec, err) < 0)
		return -1;
	replace_program(run, &spec);
	struct tty_session_config tc = { .escape = run->escape };
	_cleanup_close_ int dev_tty = pick_terminal(on_stdin, &tc);
	struct objects o = {0};
	int rc = -1;
	if (reactor_new(&run->r, 0, err) < 0) {
		job_spec_release(&spec);
		return -1;
	}
	/* A reader that goes away must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (build_objects(run, cfg, &o, err) < 0) {
		job_spec_release(&spec);
	} else {
		int status = tty_mode_run(run->r, run->client, &spec, &tc, &run->one_signal, err);
		if (status >= 0) {
			run->one_status = status;
			rc = 0;
		}
	}
	free_objects(&o);
	reactor_free(run->r);
	return rc;
}

/* --one, --tty: the job's replacement program and arguments, positional
 * ones first, then those after `--`, which may start with a dash
 * (`maelstrom-run --tty -- /bin/sh -c 'echo hi'`). */
static char **replacement_args(const struct config *cfg, size_t *n)
{
	size_t n_pos = 0, n_rest = 0;
	char *const *pos = config_positional(cfg, &n_pos);
	char *const *rest = config_rest(cfg, &n_rest);
	char **v = strv_dup((const char *const *)pos);
	for (size_t i = 0; i < n_rest; i++)
		v = strv_push(v, rest[i]);
	*n = n_pos + n_rest;
	return v;
}

int main(int argc, char **argv)
{
	struct config cfg;
	int rc = program_load_config(&cfg, &program, argc, argv, check_config, NULL);
	if (rc >= 0)
		return rc;
	struct err *err = NULL;
	struct run run = {.in_fd = -1};
	run.one = config_get_bool(&cfg, "one");
	run.tty = config_get_bool(&cfg, "tty");
	if (run.tty)
		tty_escape_parse(config_get_string(&cfg, "escape-char"), &run.escape, NULL);
	run.one_args = replacement_args(&cfg, &run.n_one_args);
	if (open_input(&run, &cfg, &err) < 0 ||
	    (run.tty ? run_tty(&run, &cfg, &err) : run_main(&run, &cfg, &err)) < 0) {
		program_log_error(&err);
		run.failed = true;
		run.one_status = 1;
	}
	if (run.in_fd > STDIN_FILENO)
		close(run.in_fd);
	strv_free(run.one_args);
	config_release(&cfg);
	fflush(stdout);
	if (run.stop_signal) {
		program_exit_signal(run.stop_signal);
		return 128 + run.stop_signal;
	}
	if (run.one || run.tty) {
		if (run.one_signal)
			program_exit_signal(run.one_signal);
		return run.one_status;
	}
	return run.failed ? 1 : 0;
}
