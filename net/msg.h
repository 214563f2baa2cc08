/*
 * msg: building, packing and unpacking the wire messages, and converting
 * between them and the in-process types.
 *
 * Every message is a maelstrom.Envelope (protoc-c type Maelstrom__Envelope)
 * with one field of its oneof set. Decoded envelopes are owned by the caller
 * and freed with msg_free. Encoding never fails (out of memory aborts).
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

/* Decodes one frame body. A body that is not a valid Envelope, or an
 * Envelope with no message set, is an error ("malformed message: ..."). */
msg_t *msg_decode(const uint8_t *body, size_t len, struct err **err);
void msg_free(msg_t *m);

/* Appends the framed encoding of m to out (net/frame.h). */
void msg_encode_frame(struct buf *out, const msg_t *m);

/* The oneof field's name ("job_request"), for logs and errors. */
const char *msg_name(const msg_t *m);

/* 16-byte digest fields. msg_digest_get fails on a wrong length. */
ProtobufCBinaryData msg_digest(const struct digest *d);   /* points into d */
int msg_digest_get(ProtobufCBinaryData b, struct digest *out, struct err **err);

/* ---- resolved jobs ---------------------------------------------------- */

/* A heap copy of a ResolvedJob as a worker_job, with storage owned by the
 * wrapper. */
struct wire_job {
	struct worker_job job;
	/* private storage */
	struct digest *layers;
	struct mount_spec *mounts;
	char **arguments;
	char **envp;
};

/* Fills *out (a heap ResolvedJob, free with msg_resolved_job_free) from a
 * worker_job. */
Maelstrom__ResolvedJob *msg_resolved_job_new(const struct worker_job *job);
void msg_resolved_job_free(Maelstrom__ResolvedJob *rj);

/* Converts a received ResolvedJob, validating it (digest lengths, enum
 * ranges, absolute mount points): errors name the field. */
int msg_wire_job_from(const Maelstrom__ResolvedJob *rj, struct wire_job *out, struct err **err);
void msg_wire_job_release(struct wire_job *wj);

/* ---- results ------------------------------------------------------------ */

/* A JobResult message for a finished job (copies the captured output). */
Maelstrom__JobResult *msg_job_result_new(uint64_t job_id, const struct job_result *res,
					 const char *worker);
void msg_job_result_free(Maelstrom__JobResult *jr);
/* And back: fills a job_result (heap copies; job_result_release frees). */
void msg_job_result_to(const Maelstrom__JobResult *jr, struct job_result *out);

/* ---- envelopes (stack-built: the caller keeps the pointed-to parts alive
 * until encoded) ----------------------------------------------------------- */

void msg_init(msg_t *m);   /* maelstrom__envelope__init */

#endif
