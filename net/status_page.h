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

#endif
