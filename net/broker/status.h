/*
 * status: the broker's status document, the same JSON for a monitor's
 * StatusReply and for GET /api/status (net/status_page.h renders it as the
 * HTML page at "/").
 *
 *     {"workers": [{"name": "w1", "address": "10.0.0.2:4123",
 *                   "slots": 8, "running": 3}, ...],
 *      "clients": 2,
 *      "jobs": {"waiting_for_artifacts": 0, "pending": 12, "running": 3,
 *               "completed": 1200},
 *      "cache": {"bytes_used": 123456, "cache_size": 1000000000},
 *      "stats": {"jobs_submitted": 1215, "jobs_completed": 1200,
 *                "artifacts_received_bytes": 123456, "uptime_s": 42}}
 *
 * The broker fills a struct status_snapshot (borrowing its strings) and
 * asks for the text; nothing here keeps state. Workers appear in the order
 * given.
 */
#ifndef NET_BROKER_STATUS_H
#define NET_BROKER_STATUS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct status_worker {
	const char *name;
	const char *address;
	unsigned slots;
	unsigned running;
};

struct status_snapshot {
	const struct status_worker *workers;
	size_t n_workers;
	size_t clients;
	uint64_t waiting_for_artifacts, pending, running, completed;
	uint64_t bytes_used, cache_size;
	uint64_t jobs_submitted, jobs_completed;
	uint64_t artifacts_received_bytes;
	uint64_t uptime_s;
};

/* The document as a new jansson object (json_decref it). Numbers above
 * INT64_MAX are shown as INT64_MAX. */
json_t *status_document(const struct status_snapshot *s);

/* The document as compact one-line JSON, a heap string (free it). */
char *status_json(const struct status_snapshot *s);

#endif
