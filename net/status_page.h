/*
 * status_page: the broker's HTML status page, rendered from the status
 * document, and a ready-made request router for the broker's HTTP port.
 *
 * The status document (also served as /api/status and carried by
 * StatusReply) has this shape; every field is optional to the renderer,
 * which shows "–" for what is missing or of the wrong type:
 *
 *   {"workers": [{"name": "w1", "address": "10.0.0.2:41234",
 *                 "slots": 8, "running": 3}, ...],
 *    "clients": 2,
 *    "jobs": {"waiting_for_artifacts": 0, "pending": 4, "running": 3,
 *             "completed": 120},
 *    "cache": {"bytes_used": 123456789, "cache_size": 1000000000},
 *    "stats": {"any_name": number | string | other JSON, ...}}
 *
 * The page is one self-contained document: inline CSS, no external assets,
 * and a few lines of inline JavaScript that fetch /api/status every second
 * and re-render the same elements (through textContent only, so nothing
 * from the document is ever parsed as HTML). The page is also rendered
 * completely on the server, so it shows the data without JavaScript (and
 * then reloads itself every 5 s). Every string from the document is
 * HTML-escaped.
 */
#ifndef NET_STATUS_PAGE_H
#define NET_STATUS_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/http.h"

/* Appends the whole HTML page for `status` (may be NULL: a page saying no
 * data is available) to out. */
void status_page_render(struct buf *out, const json_t *status);

/* Appends s with &, <, >, " and ' replaced by character references. */
void status_page_escape(struct buf *out, const char *s);

/* Answers one request of the broker's HTTP port from the status document:
 *   GET /, /index.html    the HTML page
 *   GET /api/status       the document as JSON (application/json)
 *   anything else         404
 * Responses carry `Cache-Control: no-store`. */
void status_page_handle(const struct http_request *req, struct http_response *res,
			const json_t *status);

/* ---- reading the status document (the page, and maelstrom-admin's text) -- */

/* obj's member key, or NULL when obj is not an object or has no such
 * member. */
const json_t *status_page_field(const json_t *obj, const char *key);

/* Stores the count v holds in *out and returns true; false (leaving *out)
 * when v is not a non-negative integer or a non-negative real below 2^64. */
bool status_page_count(const json_t *v, uint64_t *out);

/* The sums of the workers' "running" and "slots" counts (a worker's
 * missing or bad count adds nothing; 0 and 0 when workers is not an
 * array). */
void status_page_slots(const json_t *workers, uint64_t *used, uint64_t *total);

#endif
