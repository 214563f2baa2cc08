/*
 * artifact_xfer: artifact bytes over the network, as four small state
 * machines on the reactor and net/conn.h.
 *
 * Artifacts travel on their own connections (net/proto/maelstrom.proto), so
 * job traffic is never stuck behind a large transfer. Both kinds open with
 * Hello{role, protocol_version = PROTOCOL_VERSION} from the connecting side,
 * answered by HelloReply:
 *
 *   ARTIFACT_UPLOAD (client -> broker)   client: ArtifactHeader{digest, size}
 *                                        then exactly `size` raw bytes;
 *                                        broker: ArtifactAck{digest, ok, message}
 *   ARTIFACT_FETCH  (worker -> broker)   worker: FetchArtifact{digest};
 *                                        broker: ArtifactHeader{digest, size,
 *                                        found = true} then `size` raw bytes,
 *                                        or ArtifactHeader{found = false}
 *
 *   machine                   side    file               states
 *   artifact_uploader         client  artifact_upload.c  IDLE CONNECTING READY
 *                                                        SENDING AWAITING_ACK
 *   receiver (upload conn)    broker  artifact_receive.c HEADER BODY
 *   artifact_fetcher          worker  artifact_fetch.c   (per conn) CONNECTING
 *                                                        READY AWAITING_HEADER
 *                                                        BODY DISCARD
 *   server (fetch conn)       broker  artifact_serve.c   IDLE STREAMING
 *
 * Memory stays bounded whatever the artifact's size: senders read the file
 * in 256 KiB chunks (through io_uring when the reactor has a ring, else with
 * pread) only while conn_writable() is true, and wait for on_drain
 * otherwise, so at most about CONN_HIGH_WATERMARK + 256 KiB is queued per
 * connection. Receivers write each piece to a store temp file
 * (store_tmpfile) as it arrives, hashing it on the way (XXH3-128), and move
 * it in with store_commit only when the digest matches; a mismatch, an
 * error or a lost connection deletes the temp file.
 *
 * Callbacks run from the reactor, never from inside a call into this
 * module, and never after the object they belong to was freed. A callback
 * may call any function here except freeing the object it was called for
 * (use reactor_defer for that).
 *
 * Limits, on purpose: temp-file writes are plain write() calls from the
 * reactor, and store_commit (which hashes the file once more and fsyncs it)
 * runs there too, so a very large artifact briefly holds up its process at
 * the end. There is no inactivity timeout beyond conn.h's: an unreachable or
 * vanished peer is noticed (connect timeout, TCP keepalive), a live peer
 * that stops answering is not.
 *
 * ---- Hand-over on the broker (routing) ------------------------------------
 *
 * The broker accepts a connection before it knows the role, and conn.h has
 * no way to change a conn's ops. So the broker creates every accepted conn
 * with the forwarding table conn_route_ops, whose `arg` is a struct
 * conn_route {ops, arg}: each callback is passed on to route->ops with
 * route->arg. The owner changes by pointing the conn at another route with
 * conn_set_arg. The broker's hello handling:
 *
 *     struct peer { struct conn_route route; ... };       // broker's own
 *     p->route = (struct conn_route){ &hello_ops, p };
 *     conn_new(r, fd, &conn_route_ops, &p->route);
 *     ...
 *     // in hello_ops.on_message, for Hello with role ARTIFACT_UPLOAD:
 *     conn_send(c, <HelloReply accepted>);
 *     artifact_receiver_adopt(svc, c);    // conn_set_arg(c, its own route)
 *     free(p);                            // the broker is done with c
 *
 * From the adopt call on, the conn belongs to the artifact service: every
 * later callback (frames already buffered behind the Hello included) goes to
 * it, and the broker must not touch the conn again. A route's callbacks
 * never touch the route after the inner callback returns, so freeing the
 * old owner inside its on_message (as above) is safe. conn_set_arg(c, NULL)
 * detaches: the forwarding table then drops messages, swallows raw bytes
 * and ignores on_close.
 */
#ifndef NET_ARTIFACT_XFER_H
#define NET_ARTIFACT_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "core/err.h"
#include "core/reactor.h"
#include "net/conn.h"

/* Largest artifact accepted on any side, whatever the cache size. */
#define ARTIFACT_HARD_LIMIT (64ull << 30)

/* Senders read files in chunks of this size. */
#define ARTIFACT_CHUNK (256u << 10)

/* ---- routing -------------------------------------------------------------- */

struct conn_route {
	const struct conn_ops *ops;  /* where callbacks go; NULL members skip */
	void *arg;                   /* their arg */
};

/* The forwarding table: pass it to conn_new/conn_connect with a struct
 * conn_route * as arg (see "Hand-over" above). */
extern const struct conn_ops conn_route_ops;

/* ---- outcome callbacks --------------------------------------------------- */

/* One artifact's transfer ended. ok: the artifact is in the destination
 * store (fetch) or the broker acknowledged it (upload). Otherwise message
 * says why, for users: "artifact fetch from the broker at H:P: connection
 * lost: peer closed the connection", "the broker refused the artifact:
 * digest mismatch: ...", ... `message` is valid during the call only; it
 * is "" on success. */
typedef void artifact_done_cb(void *arg, const struct digest *d, bool ok, const char *message);

/* Transfer counters, for logs, the status page and tests. */
struct artifact_xfer_stats {
	uint64_t artifacts;     /* transfers completed successfully */
	uint64_t failures;      /* transfers that ended otherwise */
	uint64_t bytes;         /* raw artifact bytes sent or received */
	size_t peak_queued;     /* largest conn_queued() seen after queueing bytes */
	uint64_t stalls;        /* times a sender waited for on_drain */
	size_t active;          /* connections open (or connecting) now */
};

/* ---- 1. uploader (client side) ------------------------------------------- */

struct artifact_uploader;

/* Creates an uploader for the broker at "host:port" that sends blobs of
 * `store` (which must outlive it). Nothing is connected yet. Fails only on
 * an address that cannot be parsed. cb(arg, ...) reports every pushed
 * digest exactly once (unless the uploader is freed first). */
struct artifact_uploader *artifact_uploader_new(struct reactor *r, const char *broker_address,
						struct store *store, artifact_done_cb *cb,
						void *arg, struct err **err);

/* Closes the connection (a transfer in progress is cut off) and frees.
 * Pending digests get no callback. Safe on NULL. */
void artifact_uploader_free(struct artifact_uploader *up);

/* Queues d for upload unless it is already queued or being sent. Digests
 * go one at a time, in push order, on one connection opened when needed
 * (and kept open afterwards). A digest the store lacks fails at its turn.
 * When the broker refuses one (ArtifactAck{ok = false}), that digest fails
 * with the broker's message and the rest continue on a new connection.
 * A lost connection (or a refused Hello) fails every queued digest; later
 * pushes connect again. */
void artifact_uploader_push(struct artifact_uploader *up, const struct digest *d);

/* Digests queued or being sent. */
size_t artifact_uploader_pending(const struct artifact_uploader *up);

void artifact_uploader_stats(const struct artifact_uploader *up, struct artifact_xfer_stats *out);

/* ---- 2 + 4. receiver and server (broker side) ------------------------------ */

struct artifact_service;

/* Called once per artifact uploaded and stored (the broker releases the jobs
 * waiting for it). */
typedef void artifact_stored_cb(void *arg, const struct digest *d);

/* Creates the broker's artifact service over `store` (which must outlive
 * it). Uploads larger than max_size (the broker's cache-size; 0: none) or
 * ARTIFACT_HARD_LIMIT are refused. */
struct artifact_service *artifact_service_new(struct reactor *r, struct store *store,
					      uint64_t max_size, artifact_stored_cb *on_stored,
					      void *arg);

/* Closes every adopted connection (transfers in progress are cut off, their
 * temp files deleted) and frees. No callbacks follow. Safe on NULL. */
void artifact_service_free(struct artifact_service *svc);

/* Takes over an upload connection whose Hello{ARTIFACT_UPLOAD} the caller
 * has read and answered (HelloReply accepted). For each ArtifactHeader: the
 * `size` raw bytes that follow go into a temp file while being hashed; then
 * ArtifactAck{ok = true} and on_stored(digest), or, on a digest mismatch
 * ("digest mismatch: ..."), a size over the limit or a store error,
 * ArtifactAck{ok = false, message} and the connection is closed. Any other
 * message closes it too. The conn is the service's from now on. */
void artifact_receiver_adopt(struct artifact_service *svc, struct conn *c);

/* Takes over a fetch connection whose Hello{ARTIFACT_FETCH} the caller has
 * answered. Each FetchArtifact is answered in order: ArtifactHeader{found =
 * true, size} and the blob's bytes (streamed with back-pressure), or
 * ArtifactHeader{found = false} when the store lacks it. Requests may be
 * pipelined (up to 1024 waiting; more closes the connection). */
void artifact_server_adopt(struct artifact_service *svc, struct conn *c);

/* Counters over both directions (active: adopted conns open now). */
void artifact_service_stats(const struct artifact_service *svc, struct artifact_xfer_stats *out);

/* ---- 3. fetcher (worker side) --------------------------------------------- */

struct artifact_fetcher;
struct artifact_fetch;   /* one caller's wait for one digest */

/* Creates a fetcher from the broker at "host:port" into `store` (which
 * must outlive it), using at most max_conns connections at once (0: 2),
 * each carrying one transfer at a time, opened when needed and kept open.
 * Artifacts over max_size (the worker's cache-size; 0: none) or
 * ARTIFACT_HARD_LIMIT are refused, as are those the store cannot take (disk
 * full): up to 8 MiB of their bytes are skipped, beyond that the connection
 * is dropped (failing only that fetch; the others continue). Fails only on
 * an address that cannot be parsed. */
struct artifact_fetcher *artifact_fetcher_new(struct reactor *r, const char *broker_address,
					      struct store *store, unsigned max_conns,
					      uint64_t max_size, struct err **err);

/* Closes the connections, deletes partial temp files and frees; no
 * callbacks follow. Safe on NULL. */
void artifact_fetcher_free(struct artifact_fetcher *f);

/* Makes sure d ends up in the store: cb(arg, d, ok, message) runs once,
 * later (at once, from the reactor, when the store has it already). Several
 * callers of one digest share one transfer. The bytes are verified against
 * d before store_commit. Failures: the broker lacks d, d is too large, the
 * content does not match, a store error, or the connection was lost (which
 * fails every fetch not yet sent along with the one in flight on it).
 * Returns a handle for artifact_fetch_cancel, valid until cb ran or the
 * fetch was canceled. */
struct artifact_fetch *artifact_fetcher_get(struct artifact_fetcher *f, const struct digest *d,
					    artifact_done_cb *cb, void *arg);

/* Withdraws one caller: its callback will not run. The transfer itself
 * goes on if already sent (the artifact still lands in the store); a
 * request left with no caller and not yet sent is dropped. Safe on NULL. */
void artifact_fetch_cancel(struct artifact_fetch *op);

/* Digests waiting or being fetched. */
size_t artifact_fetcher_pending(const struct artifact_fetcher *f);

void artifact_fetcher_stats(const struct artifact_fetcher *f, struct artifact_xfer_stats *out);

#endif
