/*
 * msg: building, packing and unpacking the wire messages, and converting
 * between them and the in-process types.
 *
 * Every message is a maelstrom.Envelope (protoc-c type Maelstrom__Envelope)
 * with one field of its oneof set. Decoded envelopes are owned by the caller
 * and freed with msg_free. Encoding never fails (out of memory aborts).
 *
 * What msg_decode guarantees beyond "it parsed" (so handlers need not check):
 *   - exactly one message of the oneof is set (msg_case != NOT_SET);
 *   - job_request.job and enqueue_job.job are present (not NULL);
 *   - the enums of hello.role, job_status_update.state and job_result.outcome
 *     hold known values (proto3 enums are open: protobuf-c keeps any number);
 *   - no field numbered 0 anywhere (protobuf-c lets one through as an unknown
 *     field and then cannot re-encode it faithfully), so re-encoding a
 *     decoded message (e.g. forwarding a job) yields a decodable message.
 *     Other unknown fields are kept and re-encoded, as protobuf does.
 * It does NOT validate the contents of a ResolvedJob (digests, mounts...):
 * msg_wire_job_from does, so that a bad job can be refused as a job (with a
 * JobResult naming the field) rather than by dropping the connection. Nor
 * does it check digest lengths elsewhere: use msg_digest_get.
 *
 * Strings in decoded messages are never NULL (absent = ""), but a string
 * holding a NUL byte on the wire reads as cut at that byte.
 *
 * Sending, with stack-built messages:
 *
 *     Maelstrom__CancelJob c = MAELSTROM__CANCEL_JOB__INIT;
 *     c.job_id = id;
 *     msg_t m;
 *     msg_init(&m);
 *     m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
 *     m.cancel_job = &c;
 *     msg_encode_frame(&conn_out, &m);
 */
#ifndef NET_MSG_H
#define NET_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "container/executor.h"
#include "container/local_worker.h"
#include "core/buf.h"
#include "core/err.h"
#include "net/proto/maelstrom.pb-c.h"

#define PROTOCOL_VERSION 1

typedef Maelstrom__Envelope msg_t;

/* Decodes one frame body. A body that is not a valid Envelope, or one that
 * breaks the guarantees above, is an error ("malformed message: ...");
 * returns NULL then. */
msg_t *msg_decode(const uint8_t *body, size_t len, struct err **err);
/* Frees a decoded envelope. Safe on NULL. Not for stack-built ones. */
void msg_free(msg_t *m);

/* Appends the framed encoding of m to out (net/frame.h): header and body
 * written in place, no intermediate copy. */
void msg_encode_frame(struct buf *out, const msg_t *m);

/* The oneof field's name ("job_request"), for logs and errors; "(none)"
 * when nothing is set. Never NULL. */
const char *msg_name(const msg_t *m);

/* 16-byte digest fields. msg_digest_get fails on a wrong length ("digest
 * must be 16 bytes, got 5"; callers add the field name with err_wrap). */
ProtobufCBinaryData msg_digest(const struct digest *d);   /* points into d */
int msg_digest_get(ProtobufCBinaryData b, struct digest *out, struct err **err);

/* ---- resolved jobs ---------------------------------------------------- */

/* A copy of a ResolvedJob as a worker_job, with storage owned by the
 * wrapper: wj.job and everything it points to stay valid until
 * msg_wire_job_release, independently of the message it came from. The
 * worker_job's bind_base_dir is NULL (not on the wire). */
struct wire_job {
	struct worker_job job;
	/* private storage */
	struct digest *layers;
	struct mount_spec *mounts;
	char **arguments;          /* NULL-terminated (n_arguments entries) */
	char **envp;               /* NULL-terminated */
	char *working_directory;   /* NULL when the wire said "" */
	char *program;
	char **fork_server_argv;   /* NULL-terminated; NULL when the job runs cold */
};

/* A heap ResolvedJob (free with msg_resolved_job_free) copied from a
 * worker_job. priority and estimated_duration_ms are not in a worker_job:
 * they are 0; set them on the result. bind_base_dir is not sent. */
Maelstrom__ResolvedJob *msg_resolved_job_new(const struct worker_job *job);
/* Frees what msg_resolved_job_new made. Safe on NULL. Not for a
 * ResolvedJob inside a decoded envelope (msg_free frees those). */
void msg_resolved_job_free(Maelstrom__ResolvedJob *rj);

/* Converts a received ResolvedJob, validating it, into *out (which needs no
 * initialisation). Errors name the field, e.g.
 *   "job.layers[2]: digest must be 16 bytes, got 5"
 *   "job.mounts[0].mount_point: must be absolute, got \"tmp\""
 *   "job.network: unknown value 7"
 * Checked: rj present, digest lengths, enum values, mount points absolute
 * (except devices mounts), device masks, bind mounts' local_path not empty,
 * program not empty, working_directory absolute when given, environment
 * entries "NAME=value" with a non-empty NAME, fork_server_argv's program
 * (its first entry) not empty when it is given. Policy (e.g. whether a worker
 * accepts bind mounts or network "local") is left to the caller. On failure
 * *out is zeroed and owns nothing. */
int msg_wire_job_from(const Maelstrom__ResolvedJob *rj, struct wire_job *out, struct err **err);
/* Frees the storage and zeroes *wj. Safe on a zeroed wire_job. */
void msg_wire_job_release(struct wire_job *wj);

/* The fork-server key of a job (net/broker/sched.h): a digest of the zygote's
 * argv and of everything the executor starts a zygote with (layers, mounts,
 * network, writable root, user, group, working directory, environment), so
 * that two jobs with equal keys share one zygote on a worker. Returns false
 * (*out untouched) when the job names no fork server. */
bool msg_fork_server_key(const Maelstrom__ResolvedJob *rj, struct digest *out);

/* ---- results ------------------------------------------------------------ */

/* A heap JobResult message for a finished job (copies the message and the
 * captured output; res stays the caller's). worker may be NULL (""). */
Maelstrom__JobResult *msg_job_result_new(uint64_t job_id, const struct job_result *res,
					 const char *worker);
/* Frees what msg_job_result_new made. Safe on NULL. Not for a JobResult
 * inside a decoded envelope. */
void msg_job_result_free(Maelstrom__JobResult *jr);
/* And back: fills *out (no initialisation needed) with heap copies;
 * job_result_release frees them. An empty message becomes NULL, empty output
 * data NULL (otherwise NUL-terminated, as struct captured promises). An
 * outcome value outside the enum (only possible for a message that did not
 * come through msg_decode) becomes JOB_SYSTEM_ERROR saying so. */
void msg_job_result_to(const Maelstrom__JobResult *jr, struct job_result *out);

/* ---- envelopes (stack-built: the caller keeps the pointed-to parts alive
 * until encoded) ----------------------------------------------------------- */

/* An empty envelope: set msg_case and the matching pointer. */
void msg_init(msg_t *m);   /* maelstrom__envelope__init */

#endif
