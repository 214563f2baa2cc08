#include "runners/run/tty_mode.h"

#include <signal.h>
#include <string.h>

#include "core/log.h"
#include "runners/run/report.h"
#include "runners/run/tty_escape.h"

enum tty_mode_state {
	TTY_MODE_RUNNING,    /* the job runs (or is being prepared) */
	TTY_MODE_DETACHING,  /* the user detached: the job is being killed */
	TTY_MODE_DRAINING,   /* the job is over: relaying its last output */
	TTY_MODE_DONE,       /* the reactor is stopping */
};

struct tty_mode {
	struct reactor *r;
	struct client *client;
	struct tty_session *session;
	uint64_t job_id;
	enum tty_mode_state state;
	bool detached;
	struct job_result *result;
	int stop_signal;
};

static void finish(struct tty_mode *m)
{
	m->state = TTY_MODE_DONE;
	reactor_stop(m->r);
}

static void on_session(void *arg, enum tty_session_event event)
{
	struct tty_mode *m = arg;
	switch (event) {
	case TTY_SESSION_DETACH:
		if (m->state == TTY_MODE_RUNNING) {
			m->state = TTY_MODE_DETACHING;
			m->detached = true;
			client_cancel(m->client, m->job_id);
		}
		break;
	case TTY_SESSION_OUTPUT_DONE:
		finish(m);
		break;
	}
}

static void on_job_start(void *arg, uint64_t id)
{
	struct tty_mode *m = arg;
	(void)id;
	tty_session_job_started(m->session);
}

static void on_job_done(void *arg, uint64_t id, struct job_result *res)
{
	struct tty_mode *m = arg;
	(void)id;
	m->result = res;
	m->state = TTY_MODE_DRAINING;
	tty_session_job_done(m->session);
}

static void on_stop_signal(struct reactor *r, int signo, void *arg)
{
	struct tty_mode *m = arg;
	(void)r;
	m->stop_signal = signo;
	finish(m);
}

/* After the terminal is restored: what happened, and the exit status. */
static int report(struct tty_mode *m, unsigned char escape, int *signo)
{
	*signo = 0;
	if (m->stop_signal) {
		log_warning("%s: the job is killed", strsignal(m->stop_signal));
		*signo = m->stop_signal;
		return 128 + m->stop_signal;
	}
	if (m->detached) {
		char name[5];
		log_warning("detached (%s then ^C): the job is killed",
			    tty_escape_name(escape, name));
		return 1;
	}
	if (!m->result) {
		log_error("the job ended without a result");
		return 1;
	}
	/* A plain exit needs no words: the user saw the job end. */
	if (m->result->outcome != JOB_EXITED)
		report_job(NULL, m->result);
	return report_exit_status(m->result, signo);
}

int tty_mode_run(struct reactor *r, struct client *c, struct job_spec *spec,
		 const struct tty_session_config *cfg, int *signo, struct err **err)
{
	struct tty_mode m = { .r = r, .client = c };
	*signo = 0;
	spec->allocate_tty = true;
	if (tty_session_new(&m.session, r, cfg, on_session, &m, err) < 0) {
		job_spec_release(spec);
		return err_wrap(err, "--tty");
	}
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		if (reactor_on_signal(r, stops[i], on_stop_signal, &m, err) < 0) {
			tty_session_free(m.session);
			job_spec_release(spec);
			return -1;
		}
	}
	if (tty_session_start(m.session, err) < 0) {
		tty_session_free(m.session);
		job_spec_release(spec);
		return err_wrap(err, "--tty");
	}
	client_set_tty(c, tty_session_slave(m.session));
	client_on_start(c, on_job_start);
	m.job_id = client_submit(c, spec, on_job_done, &m);
	struct err *run_err = NULL;
	int rc = reactor_run(r, &run_err);
	/* Every way out passes here: the terminal first, then words. */
	tty_session_free(m.session);
	client_set_tty(c, -1);
	client_on_start(c, NULL);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		reactor_on_signal(r, stops[i], NULL, NULL, NULL);
	int status;
	if (rc < 0) {
		log_error("%s", err_msg(run_err));
		err_free(&run_err);
		status = 1;
	} else {
		status = report(&m, cfg->escape, signo);
	}
	job_result_free(m.result);
	return status;
}
