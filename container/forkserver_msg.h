/*
 * forkserver_msg: the messages of the fork-server protocol
 * (container/forkserver.h) as C values: decoding what a zygote sends,
 * encoding the executor's job requests (JSON through jansson), and moving
 * datagrams with file descriptors attached (SCM_RIGHTS) over the
 * SOCK_SEQPACKET socket. Stateless; internal to the executor's zygote pool
 * (container/forkserver_pool.c).
 *
 *     char buf[FORKSERVER_MAX_MSG]; int fds[FS_MAX_FDS]; size_t nfds;
 *     ssize_t n = fs_recv(sock, buf, sizeof(buf), fds, &nfds);
 *     if (n > 0 && fs_msg_parse(buf, (size_t)n, &msg, &err) == 0) {
 *             switch (msg.kind) ...           the fds belong to the caller
 *             fs_msg_release(&msg);
 *     }
 */
#ifndef CONTAINER_FORKSERVER_MSG_H
#define CONTAINER_FORKSERVER_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/spec.h"

/* Most fds one received message may carry; more makes it an error. */
#define FS_MAX_FDS 4

/* What a zygote said. A message naming none of the known keys is
 * FS_MSG_NONE (to be ignored: unknown keys are allowed). When one message
 * holds several known keys, the first kind in this list wins. */
enum fs_msg_kind {
	FS_MSG_NONE,
	FS_MSG_READY,      /* {"ready": true} */
	FS_MSG_ERROR,      /* {"error": text} */
	FS_MSG_PID,        /* {"job": id, "pid": value} (+ a pidfd) */
	FS_MSG_REFUSED,    /* {"job": id, "refused": text} */
	FS_MSG_EXIT,       /* {"job": id, "exit": value} */
	FS_MSG_SIGNAL,     /* {"job": id, "signal": value} */
};

struct fs_msg {
	enum fs_msg_kind kind;
	uint64_t job;      /* PID, REFUSED, EXIT, SIGNAL */
	int value;         /* the pid, exit code or signal number */
	char *text;        /* ERROR and REFUSED: malloc'd, else NULL */
};

/* Decodes one datagram. Returns 0, or -1 with *err saying what is wrong
 * ("not JSON: ...", "\"exit\" is not an integer", "\"pid\" without
 * \"job\"") for a message that breaks the protocol. */
int fs_msg_parse(const char *data, size_t len, struct fs_msg *out, struct err **err);

/* Frees the text and zeroes *m. Safe on a zeroed message. */
void fs_msg_release(struct fs_msg *m);

/* The kind's name, for messages: "ready", "error", "pid"... */
const char *fs_msg_kind_name(enum fs_msg_kind kind);

/* One job request, as the zygote receives it. */
struct fs_request {
	uint64_t job;
	const char *program;          /* the job's program (as run cold) */
	const char *const *argv;      /* NULL-terminated, argv[0] included */
	const char *const *envp;      /* NULL-terminated "K=V" */
	const char *cwd;              /* NULL: "/" */
	enum network_mode network;
};

/* The request as compact JSON (malloc'd, *len bytes without the NUL), or
 * NULL with *err set when a string is not valid UTF-8 (JSON cannot carry
 * it) or the text exceeds FORKSERVER_MAX_MSG. */
char *fs_request_encode(const struct fs_request *rq, size_t *len, struct err **err);

/* Sends one datagram with nfds (<= FS_MAX_FDS) fds attached. Returns 0 or
 * -errno: -EAGAIN when the socket is full (try again once writable),
 * -EMSGSIZE when the datagram can never fit. Never raises SIGPIPE. */
int fs_send(int sock, const void *data, size_t len, const int *fds, size_t nfds);

/* Receives one datagram into buf, and the fds attached to it into fds
 * (close-on-exec; *nfds of them, owned by the caller). Returns its length
 * (> 0), 0 at end of stream (an empty datagram counts as one), or -errno:
 * -EAGAIN when nothing is waiting, -EMSGSIZE when the datagram or its fds
 * did not fit (whatever fds came are closed, the datagram is dropped). */
ssize_t fs_recv(int sock, void *buf, size_t cap, int *fds, size_t *nfds);

#endif
