/*
 * admin: maelstrom-admin's conversation with a broker, and how it shows the
 * broker's status.
 *
 * The conversation (net/proto/maelstrom.proto, monitor role):
 *
 *   CONNECTING --open--> HELLO_SENT --HelloReply{accepted}--> REQUEST_SENT
 *     status: StatusRequest -> StatusReply{json}: done (we close)
 *     stop:   StopRequest -> the broker closes the connection: done
 *
 * Everything, connecting included, must finish within the timeout; every
 * failure becomes an error naming the broker's address and what went wrong
 * ("cannot reach the broker at h:1: ...", "the broker at h:1 did not answer
 * within 10 s", "the broker at h:1 refused the connection: ...").
 */
#ifndef RUNNERS_ADMIN_ADMIN_H
#define RUNNERS_ADMIN_ADMIN_H

#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/reactor.h"

#define ADMIN_TIMEOUT_NS (10ull * 1000000000ull)

enum admin_command {
	ADMIN_STATUS,   /* fetch the status document */
	ADMIN_STOP,     /* ask the broker to stop, and wait until it hangs up */
};

/* Runs one command against the broker at `address` ("host:port",
 * "[v6]:port") on reactor r, running the reactor until the command is
 * done; the reactor should hold nothing else. For ADMIN_STATUS,
 * *status_json receives the document's text (heap; free it); for
 * ADMIN_STOP status_json may be NULL. Returns 0, or -1 with *err set. */
int admin_run(struct reactor *r, const char *address, enum admin_command cmd,
	      uint64_t timeout_ns, char **status_json, struct err **err);

/* Appends a readable summary of the status document for a terminal:
 * totals, then one line per worker, then the statistics. Missing fields
 * show as "-"; control characters in names become '?'. */
void admin_format_status(struct buf *out, const json_t *status);

#endif
