/*
 * artifact_xfer_internal: the pieces the four artifact machines share
 * (artifact_xfer.c). Not for other modules.
 *
 *   xfer_source  a store blob streamed onto a conn as raw bytes, chunk by
 *                chunk, only while the conn is writable.
 *   xfer_sink    raw bytes from a conn into a store temp file, hashed on
 *                the way, committed when the digest matches.
 *   xfer_send_*  the artifact messages, built on the stack.
 */
#ifndef NET_ARTIFACT_XFER_INTERNAL_H
#define NET_ARTIFACT_XFER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "core/err.h"
#include "core/reactor.h"
#include "net/artifact_xfer.h"
#include "net/conn.h"
#include "net/msg.h"

/* ---- messages ------------------------------------------------------------- */

void xfer_send_hello(struct conn *c, Maelstrom__Role role);
void xfer_send_header(struct conn *c, const struct digest *d, uint64_t size, bool found);
void xfer_send_ack(struct conn *c, const struct digest *d, bool ok, const char *message);
void xfer_send_fetch(struct conn *c, const struct digest *d);

/* The effective size limit: min(max_size or none, ARTIFACT_HARD_LIMIT). */
uint64_t xfer_limit(uint64_t max_size);

/* Records one send in stats (peak queue). */
void xfer_note_queued(struct artifact_xfer_stats *st, const struct conn *c);

/* ---- source: file -> conn ------------------------------------------------ */

struct xfer_source;

/* Completion of an asynchronous (io_uring) step: rc is 1 when every byte is
 * queued on the conn, -1 on a read error (message says which). Never called
 * from inside an xfer_source_* call. */
typedef void xfer_source_cb(void *arg, int rc, const char *message);

/* Opens the blob at path for streaming onto c; *size receives its size.
 * The source counts queued bytes and peaks into st (may be NULL). */
int xfer_source_open(struct xfer_source **out, struct reactor *r, struct conn *c,
		     const char *path, struct artifact_xfer_stats *st, xfer_source_cb *cb,
		     void *arg, uint64_t *size, struct err **err);

/* Queues chunks while the conn is writable. Returns 1 when every byte is
 * queued, 0 when waiting (for on_drain: call again then; or for a read in
 * flight: cb reports), -1 with *err on a read error. */
int xfer_source_pump(struct xfer_source *src, struct err **err);

/* Stops and frees (a read in flight is left to finish first, invisibly).
 * Safe on NULL. */
void xfer_source_free(struct xfer_source *src);

/* For tests: false makes new sources read with pread even when the reactor
 * has an io_uring ring. */
extern bool xfer_source_use_uring;

/* ---- sink: conn -> temp file ---------------------------------------------- */

struct xfer_sink {
	struct store *store;
	char *tmp_path;           /* NULL when not open */
	int fd;
	struct digest_state *hash;
	uint64_t size, received;
};

#define XFER_SINK_INIT { NULL, NULL, -1, NULL, 0, 0 }

/* Opens a temp file for `size` bytes. */
int xfer_sink_open(struct xfer_sink *k, struct store *store, uint64_t size, struct err **err);

/* Bytes still expected. */
uint64_t xfer_sink_remaining(const struct xfer_sink *k);

/* Writes and hashes len bytes (at most the remaining ones). */
int xfer_sink_write(struct xfer_sink *k, const void *data, size_t len, struct err **err);

/* All bytes arrived: checks the digest ("digest mismatch: ..."), then
 * store_commit. The sink is released either way. */
int xfer_sink_commit(struct xfer_sink *k, const struct digest *expected, struct err **err);

/* Abandons the transfer: closes and deletes the temp file. Safe twice. */
void xfer_sink_release(struct xfer_sink *k);

/* ---- the broker's service (artifact_service.c) ------------------------------ */

enum svc_peer_kind {
	PEER_UPLOAD,   /* a receiver (artifact_receive.c) */
	PEER_FETCH,    /* a server (artifact_serve.c) */
};

/* The part of every adopted connection the service keeps a list of. */
struct svc_peer {
	struct conn_route route;    /* the conn's arg */
	struct artifact_service *svc;
	struct conn *c;
	enum svc_peer_kind kind;
	struct svc_peer *prev, *next;
};

struct artifact_service {
	struct reactor *r;
	struct store *store;
	uint64_t limit;             /* largest upload accepted */
	artifact_stored_cb *on_stored;
	void *arg;
	struct svc_peer *peers;
	struct artifact_xfer_stats st;
};

/* Links p into the service and takes the conn over (conn_set_arg). */
void svc_peer_attach(struct artifact_service *svc, struct svc_peer *p, struct conn *c,
		     enum svc_peer_kind kind, const struct conn_ops *ops, void *arg);
/* Unlinks p (its conn is gone or being closed). */
void svc_peer_detach(struct svc_peer *p);

/* Frees a peer without callbacks, after its conn was detached and closed. */
void receiver_destroy(struct svc_peer *p);
void server_destroy(struct svc_peer *p);

#endif
