/* maelstrom-admin's broker conversation and status text (see admin.h). */
#include "runners/admin/admin.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/size.h"
#include "net/conn.h"
#include "net/msg.h"
#include "net/status_page.h"

enum admin_state {
	ADMIN_CONNECTING,    /* conn_connect in progress */
	ADMIN_HELLO_SENT,    /* waiting for HelloReply */
	ADMIN_REQUEST_SENT,  /* waiting for StatusReply, or for the close after a stop */
	ADMIN_FINISHED,      /* outcome recorded; waiting for on_close */
};

struct admin {
	struct reactor *r;
	struct conn *c;
	const char *address;
	enum admin_command cmd;
	enum admin_state state;
	uint64_t timeout_ns;
	uint64_t timer;
	char *json;          /* StatusReply's document */
	struct err *err;     /* the failure, once there is one */
	bool ok;
};

static const char *const state_names[] = {
	[ADMIN_CONNECTING] = "connecting",
	[ADMIN_HELLO_SENT] = "waiting for the broker's hello",
	[ADMIN_REQUEST_SENT] = "waiting for the broker's answer",
	[ADMIN_FINISHED] = "finishing",
};

/* Records the outcome and closes; reactor_run ends in on_close. */
static void finish(struct admin *a)
{
	a->state = ADMIN_FINISHED;
	reactor_timer_cancel(a->r, a->timer);
	a->timer = 0;
	conn_close(a->c, false, a->ok ? "done" : err_msg(a->err));
}

static void send_envelope(struct admin *a, msg_t *m)
{
	conn_send(a->c, m);
}

static void on_open(struct conn *c, void *arg)
{
	(void)c;
	struct admin *a = arg;
	if (!a)
		return;
	Maelstrom__Hello hello = MAELSTROM__HELLO__INIT;
	hello.protocol_version = PROTOCOL_VERSION;
	hello.role = MAELSTROM__ROLE__ROLE_MONITOR;
	hello.name = (char *)"maelstrom-admin";
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &hello;
	send_envelope(a, &m);
	a->state = ADMIN_HELLO_SENT;
}

static void send_request(struct admin *a)
{
	msg_t m;
	msg_init(&m);
	Maelstrom__StatusRequest status = MAELSTROM__STATUS_REQUEST__INIT;
	Maelstrom__StopRequest stop = MAELSTROM__STOP_REQUEST__INIT;
	if (a->cmd == ADMIN_STATUS) {
		m.msg_case = MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST;
		m.status_request = &status;
	} else {
		m.msg_case = MAELSTROM__ENVELOPE__MSG_STOP_REQUEST;
		m.stop_request = &stop;
	}
	send_envelope(a, &m);
	a->state = ADMIN_REQUEST_SENT;
}

static void on_message(struct conn *c, msg_t *m, void *arg)
{
	(void)c;
	struct admin *a = arg;
	if (!a || a->state == ADMIN_FINISHED) {
		msg_free(m);
		return;
	}
	if (a->state == ADMIN_HELLO_SENT && m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO_REPLY) {
		const Maelstrom__HelloReply *hr = m->hello_reply;
		if (hr->accepted) {
			send_request(a);
		} else {
			err_set(&a->err, 0, "the broker at %s refused the connection: %s", a->address,
				hr->message && *hr->message ? hr->message : "no reason given");
			finish(a);
		}
	} else if (a->state == ADMIN_REQUEST_SENT && a->cmd == ADMIN_STATUS &&
		   m->msg_case == MAELSTROM__ENVELOPE__MSG_STATUS_REPLY) {
		a->json = strdup(m->status_reply->json ? m->status_reply->json : "");
		if (!a->json)
			abort(); /* out of memory */
		a->ok = true;
		finish(a);
	} else {
		err_set(&a->err, 0, "the broker at %s sent an unexpected %s while we were %s",
			a->address, msg_name(m), state_names[a->state]);
		finish(a);
	}
	msg_free(m);
}

static void on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	struct admin *a = arg;
	if (!a)
		return; /* admin_run gave up on this conn */
	a->c = NULL;
	reactor_timer_cancel(a->r, a->timer);
	a->timer = 0;
	switch (a->state) {
	case ADMIN_CONNECTING:
		/* The reason names the address ("connecting to h:1: ..."). */
		err_set(&a->err, 0, "cannot reach the broker: %s", reason);
		break;
	case ADMIN_HELLO_SENT:
		/* An HTTP server answering our hello frame with "HTTP/1.1 400"
		 * reads as a frame of 0x48545450 bytes. */
		err_set(&a->err, 0, "the connection to the broker at %s ended before it answered "
			"our hello: %s%s", a->address, reason,
			strstr(reason, "1213486160") ? " (this looks like an HTTP server: is it the "
						       "broker's http-port instead of its port?)" : "");
		break;
	case ADMIN_REQUEST_SENT:
		if (a->cmd == ADMIN_STOP)
			a->ok = true; /* hanging up is how a stopping broker answers */
		else
			err_set(&a->err, 0, "the connection to the broker at %s ended before it "
				"sent its status: %s", a->address, reason);
		break;
	case ADMIN_FINISHED:
		break;
	}
	a->state = ADMIN_FINISHED;
	reactor_stop(a->r);
}

static void on_timeout(struct reactor *r, void *arg)
{
	(void)r;
	struct admin *a = arg;
	a->timer = 0;
	double s = (double)a->timeout_ns / 1e9;
	if (a->state == ADMIN_REQUEST_SENT && a->cmd == ADMIN_STOP)
		err_set(&a->err, 0, "the broker at %s did not stop within %g s of the stop request",
			a->address, s);
	else if (a->state == ADMIN_CONNECTING)
		err_set(&a->err, 0, "cannot reach the broker at %s: no connection within %g s",
			a->address, s);
	else
		err_set(&a->err, 0, "the broker at %s did not answer within %g s (%s)", a->address,
			s, state_names[a->state]);
	finish(a);
}

static const struct conn_ops admin_ops = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

int admin_run(struct reactor *r, const char *address, enum admin_command cmd,
	      uint64_t timeout_ns, char **status_json, struct err **err)
{
	struct admin a = {
		.r = r,
		.address = address,
		.cmd = cmd,
		.state = ADMIN_CONNECTING,
		.timeout_ns = timeout_ns,
	};
	a.c = conn_connect(r, address, &admin_ops, &a, err);
	if (!a.c)
		return err_wrap(err, "cannot reach the broker");
	a.timer = reactor_timer_add(r, timeout_ns, on_timeout, &a);
	int rc = reactor_run(r, err);
	if (rc < 0 || a.state != ADMIN_FINISHED) {
		/* The loop failed, or (cannot happen while the conn or the timer
		 * lives) ran out of work without an outcome. `a` is about to
		 * go: detach it from the conn before closing. */
		if (a.c) {
			conn_set_arg(a.c, NULL);
			conn_close(a.c, false, "giving up");
		}
		reactor_timer_cancel(r, a.timer);
		free(a.json);
		err_free(&a.err);
		if (rc < 0)
			return err_wrap(err, "talking to the broker at %s", address);
		return err_set(err, 0, "lost track of the conversation with the broker at %s",
			       address);
	}
	if (!a.ok) {
		free(a.json);
		*err = a.err;
		return -1;
	}
	err_free(&a.err);
	if (status_json)
		*status_json = a.json;
	else
		free(a.json);
	return 0;
}

/* ---- status text ----------------------------------------------------------- */

/* A count as text into buf (at least 24 bytes), or "-". */
static const char *count_text(const json_t *v, char *buf)
{
	uint64_t n;
	if (!status_page_count(v, &n))
		return "-";
	snprintf(buf, 24, "%" PRIu64, n);
	return buf;
}

/* A heap copy of a string field safe for a terminal, or "-". */
static char *safe_text(const json_t *v)
{
	char *s = strdup(json_is_string(v) ? json_string_value(v) : "-");
	if (!s)
		abort(); /* out of memory */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static void format_totals(struct buf *out, const json_t *status)
{
	const json_t *workers = status_page_field(status, "workers");
	char a[24], b[24], c[24], d[24];
	uint64_t used, total;
	status_page_slots(workers, &used, &total);
	if (json_is_array(workers))
		buf_appendf(out, "workers:  %zu (%" PRIu64 " of %" PRIu64 " slots in use)\n",
			    json_array_size(workers), used, total);
	else
		buf_appends(out, "workers:  -\n");
	buf_appendf(out, "clients:  %s\n", count_text(status_page_field(status, "clients"), a));
	const json_t *jobs = status_page_field(status, "jobs");
	buf_appendf(out, "jobs:     %s waiting for artifacts, %s pending, %s running, "
			 "%s completed\n",
		    count_text(status_page_field(jobs, "waiting_for_artifacts"), a),
		    count_text(status_page_field(jobs, "pending"), b),
		    count_text(status_page_field(jobs, "running"), c),
		    count_text(status_page_field(jobs, "completed"), d));
	const json_t *cache = status_page_field(status, "cache");
	char s1[SIZE_FORMAT_MAX], s2[SIZE_FORMAT_MAX];
	if (status_page_count(status_page_field(cache, "bytes_used"), &used) &&
	    status_page_count(status_page_field(cache, "cache_size"), &total))
		buf_appendf(out, "cache:    %s used of %s\n", size_format(used, s1),
			    size_format(total, s2));
	else
		buf_appends(out, "cache:    -\n");
}

static void format_workers(struct buf *out, const json_t *workers)
{
	size_t n = json_array_size(workers);
	if (n == 0)
		return;
	char **names = calloc(n, sizeof(*names)), **addrs = calloc(n, sizeof(*addrs));
	if (!names || !addrs)
		abort(); /* out of memory */
	int wn = 4, wa = 7;
	for (size_t i = 0; i < n; i++) {
		const json_t *w = json_array_get(workers, i);
		names[i] = safe_text(status_page_field(w, "name"));
		addrs[i] = safe_text(status_page_field(w, "address"));
		if ((int)strlen(names[i]) > wn)
			wn = (int)strlen(names[i]);
		if ((int)strlen(addrs[i]) > wa)
			wa = (int)strlen(addrs[i]);
	}
	buf_appendf(out, "\n  %-*s  %-*s  %5s  %7s\n", wn, "NAME", wa, "ADDRESS", "SLOTS",
		    "RUNNING");
	for (size_t i = 0; i < n; i++) {
		const json_t *w = json_array_get(workers, i);
		char a[24], b[24];
		buf_appendf(out, "  %-*s  %-*s  %5s  %7s\n", wn, names[i], wa, addrs[i],
			    count_text(status_page_field(w, "slots"), a),
			    count_text(status_page_field(w, "running"), b));
		free(names[i]);
		free(addrs[i]);
	}
	free(names);
	free(addrs);
}

static void format_stats(struct buf *out, const json_t *stats)
{
	if (!json_is_object(stats) || json_object_size(stats) == 0)
		return;
	buf_appends(out, "\nstatistics:\n");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)stats, key, v) {
		json_t *k = json_string(key);
		char *name = safe_text(k);
		json_decref(k);
		char *text = json_is_string(v) ? safe_text(v)
					       : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		buf_appendf(out, "  %s: %s\n", name, text ? text : "-");
		free(name);
		free(text);
	}
}

void admin_format_status(struct buf *out, const json_t *status)
{
	format_totals(out, status);
	format_workers(out, status_page_field(status, "workers"));
	format_stats(out, status_page_field(status, "stats"));
}
