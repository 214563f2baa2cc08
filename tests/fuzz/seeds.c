/*
 * seeds: writes the seed corpus for fuzz_proto into the directory given as
 * the only argument: one file per message type (each a control byte, see
 * fuzz_proto.c, then one frame), a few streams of several frames, and some
 * edge cases. Built and run by tests/fuzz/run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "net/msg.h"

static const char *dir;
static unsigned n_written;
static struct buf all = BUF_INIT;   /* every frame, for the stream seeds */

static void write_seed(const char *name, unsigned char control, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%02u-%s", dir, n_written++, name);
	FILE *f = fopen(path, "wb");
	if (!f || fputc(control, f) == EOF || (len && fwrite(data, 1, len, f) != len) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* One frame holding m, as its own seed and appended to `all`. */
static void seed_msg(const char *name, unsigned char control, const msg_t *m)
{
	struct buf b = BUF_INIT;
	msg_encode_frame(&b, m);
	write_seed(name, control, b.data, b.len);
	buf_append(&all, b.data, b.len);
	buf_release(&b);
}

#define SEED(name, control, field, value)                         \
	do {                                                      \
		msg_t m_;                                         \
		msg_init(&m_);                                    \
		m_.msg_case = MAELSTROM__ENVELOPE__MSG_##field;   \
		m_.value = &value##_msg;                          \
		seed_msg(name, control, &m_);                     \
	} while (0)

static const struct digest layers[2] = {
	{ { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ { 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 } },
};

static struct mount_spec mounts[] = {
	{ .kind = MOUNT_PROC, .mount_point = "/proc" },
	{ .kind = MOUNT_TMP, .mount_point = "/tmp" },
	{ .kind = MOUNT_DEVICES, .devices = DEVICE_NULL | DEVICE_ZERO },
	{ .kind = MOUNT_BIND, .mount_point = "/src", .local_path = "src", .read_only = true },
	{ .kind = MOUNT_DEVPTS, .mount_point = "/dev/pts" },
	{ .kind = MOUNT_MQUEUE, .mount_point = "/dev/mqueue" },
	{ .kind = MOUNT_SYS, .mount_point = "/sys" },
};

static const char *const args[] = { "-c", "echo hello; exit 3" };
static const char *const env[] = { "PATH=/bin:/usr/bin", "HOME=/root", NULL };

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	struct digest dg = layers[0];

	Maelstrom__Hello hello_msg = MAELSTROM__HELLO__INIT;
	hello_msg.protocol_version = PROTOCOL_VERSION;
	hello_msg.role = MAELSTROM__ROLE__ROLE_WORKER;
	hello_msg.slots = 4;
	hello_msg.name = "worker-1";
	SEED("hello", 0x00, HELLO, hello);

	Maelstrom__HelloReply hello_reply_msg = MAELSTROM__HELLO_REPLY__INIT;
	hello_reply_msg.accepted = true;
	hello_reply_msg.protocol_version = PROTOCOL_VERSION;
	SEED("hello_reply", 0x41, HELLO_REPLY, hello_reply);

	struct worker_job job = {
		.layers = layers, .n_layers = 2, .mounts = mounts,
		.n_mounts = sizeof mounts / sizeof mounts[0], .network = NETWORK_LOOPBACK,
		.writable_root = true, .user = 1000, .group = 1000, .working_directory = "/src",
		.program = "sh", .arguments = args, .n_arguments = 2, .envp = env, .timeout_s = 60,
	};
	Maelstrom__JobRequest job_request_msg = MAELSTROM__JOB_REQUEST__INIT;
	job_request_msg.job_id = 1;
	job_request_msg.job = msg_resolved_job_new(&job);
	job_request_msg.job->priority = 2;
	job_request_msg.job->estimated_duration_ms = 1500;
	SEED("job_request", 0x80, JOB_REQUEST, job_request);

	Maelstrom__EnqueueJob enqueue_job_msg = MAELSTROM__ENQUEUE_JOB__INIT;
	enqueue_job_msg.job_id = 1000;
	enqueue_job_msg.job = job_request_msg.job;
	SEED("enqueue_job", 0x87, ENQUEUE_JOB, enqueue_job);

	/* A job that fails validation (relative mount point). */
	free(enqueue_job_msg.job->mounts[1]->mount_point);
	enqueue_job_msg.job->mounts[1]->mount_point = strdup("tmp");
	SEED("enqueue_job_bad", 0xc0, ENQUEUE_JOB, enqueue_job);
	msg_resolved_job_free(job_request_msg.job);

	Maelstrom__CancelJob cancel_job_msg = MAELSTROM__CANCEL_JOB__INIT;
	cancel_job_msg.job_id = 1000;
	SEED("cancel_job", 0x03, CANCEL_JOB, cancel_job);

	Maelstrom__TransferArtifact transfer_artifact_msg = MAELSTROM__TRANSFER_ARTIFACT__INIT;
	transfer_artifact_msg.digest = msg_digest(&dg);
	SEED("transfer_artifact", 0x44, TRANSFER_ARTIFACT, transfer_artifact);

	Maelstrom__JobStatusUpdate job_status_update_msg = MAELSTROM__JOB_STATUS_UPDATE__INIT;
	job_status_update_msg.job_id = 1;
	job_status_update_msg.state = MAELSTROM__JOB_STATE__JOB_STATE_PENDING;
	SEED("job_status_update", 0x85, JOB_STATUS_UPDATE, job_status_update);

	Maelstrom__JobStarted job_started_msg = MAELSTROM__JOB_STARTED__INIT;
	job_started_msg.job_id = 1000;
	SEED("job_started", 0xc6, JOB_STARTED, job_started);

	struct job_result res = {
		.outcome = JOB_EXITED, .code = 3,
		.out = { .data = "hello\n", .len = 6, .truncated = 0 },
		.err = { .data = "warn\0ing", .len = 8, .truncated = 12 },
		.duration_ns = 5000000,
	};
	Maelstrom__JobResult *jr = msg_job_result_new(1000, &res, "worker-1");
	Maelstrom__JobResult job_result_msg = *jr;
	SEED("job_result", 0x07, JOB_RESULT, job_result);
	msg_job_result_free(jr);

	Maelstrom__StatusRequest status_request_msg = MAELSTROM__STATUS_REQUEST__INIT;
	SEED("status_request", 0x48, STATUS_REQUEST, status_request);

	Maelstrom__StatusReply status_reply_msg = MAELSTROM__STATUS_REPLY__INIT;
	status_reply_msg.json = "{\"workers\":[],\"jobs\":{}}";
	SEED("status_reply", 0x89, STATUS_REPLY, status_reply);

	Maelstrom__StopRequest stop_request_msg = MAELSTROM__STOP_REQUEST__INIT;
	SEED("stop_request", 0xca, STOP_REQUEST, stop_request);

	Maelstrom__ArtifactHeader artifact_header_msg = MAELSTROM__ARTIFACT_HEADER__INIT;
	artifact_header_msg.digest = msg_digest(&dg);
	artifact_header_msg.size = 12;
	artifact_header_msg.found = true;
	SEED("artifact_header", 0x0b, ARTIFACT_HEADER, artifact_header);

	Maelstrom__ArtifactAck artifact_ack_msg = MAELSTROM__ARTIFACT_ACK__INIT;
	artifact_ack_msg.digest = msg_digest(&dg);
	artifact_ack_msg.ok = true;
	SEED("artifact_ack", 0x4c, ARTIFACT_ACK, artifact_ack);

	Maelstrom__FetchArtifact fetch_artifact_msg = MAELSTROM__FETCH_ARTIFACT__INIT;
	fetch_artifact_msg.digest = msg_digest(&dg);
	SEED("fetch_artifact", 0x8d, FETCH_ARTIFACT, fetch_artifact);

	/* Streams: everything back to back, chopped three ways; a header
	 * followed by raw artifact bytes; an oversized frame; an empty frame. */
	write_seed("stream-1", 0x00, all.data, all.len);
	write_seed("stream-var", 0x9f, all.data, all.len);
	write_seed("stream-all", 0xff, all.data, all.len);
	struct buf raw = BUF_INIT;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER;
	m.artifact_header = &artifact_header_msg;
	msg_encode_frame(&raw, &m);
	buf_append(&raw, "raw content!", 12);
	write_seed("header-then-raw", 0x45, raw.data, raw.len);
	write_seed("oversize", 0x02, "\x7f\xff\xff\xff" "abc", 7);
	write_seed("empty-frame", 0x00, "\0\0\0\0", 4);
	buf_release(&raw);
	buf_release(&all);
	printf("%u seeds\n", n_written);
	return 0;
}
