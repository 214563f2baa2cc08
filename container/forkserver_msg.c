/*
 * forkserver_msg.c: the fork-server protocol's messages. See
 * container/forkserver_msg.h and container/forkserver.h.
 */
#include "container/forkserver_msg.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "container/forkserver.h"

const char *fs_msg_kind_name(enum fs_msg_kind kind)
{
	switch (kind) {
	case FS_MSG_NONE: return "unknown";
	case FS_MSG_READY: return "ready";
	case FS_MSG_ERROR: return "error";
	case FS_MSG_PID: return "pid";
	case FS_MSG_REFUSED: return "refused";
	case FS_MSG_EXIT: return "exit";
	case FS_MSG_SIGNAL: return "signal";
	}
	return "unknown";
}

void fs_msg_release(struct fs_msg *m)
{
	free(m->text);
	memset(m, 0, sizeof(*m));
}

/* ---- decoding ------------------------------------------------------------ */

/* The job-related keys, in the order their kinds win. */
static const struct {
	const char *key;
	enum fs_msg_kind kind;
	bool text;               /* a string, else an integer */
} job_keys[] = {
	{ "pid", FS_MSG_PID, false },
	{ "refused", FS_MSG_REFUSED, true },
	{ "exit", FS_MSG_EXIT, false },
	{ "signal", FS_MSG_SIGNAL, false },
};

static int parse_int(const json_t *v, const char *key, int *out, struct err **err)
{
	if (!json_is_integer(v))
		return err_set(err, 0, "\"%s\" is not an integer", key);
	json_int_t n = json_integer_value(v);
	if (n < INT_MIN || n > INT_MAX)
		return err_set(err, 0, "\"%s\" is out of range: %" JSON_INTEGER_FORMAT, key, n);
	*out = (int)n;
	return 0;
}

static int parse_text(const json_t *v, const char *key, char **out, struct err **err)
{
	if (!json_is_string(v))
		return err_set(err, 0, "\"%s\" is not a string", key);
	*out = strdup(json_string_value(v));
	if (!*out)
		abort(); /* out of memory */
	return 0;
}

static int parse_object(const json_t *o, struct fs_msg *out, struct err **err)
{
	const json_t *v = json_object_get(o, "ready");
	if (v) {
		if (!json_is_true(v))
			return err_set(err, 0, "\"ready\" is not true");
		out->kind = FS_MSG_READY;
		return 0;
	}
	v = json_object_get(o, "error");
	if (v) {
		out->kind = FS_MSG_ERROR;
		return parse_text(v, "error", &out->text, err);
	}
	const json_t *job = json_object_get(o, "job");
	for (size_t i = 0; i < sizeof(job_keys) / sizeof(job_keys[0]); i++) {
		v = json_object_get(o, job_keys[i].key);
		if (!v)
			continue;
		if (!job)
			return err_set(err, 0, "\"%s\" without \"job\"", job_keys[i].key);
		if (!json_is_integer(job) || json_integer_value(job) < 0)
			return err_set(err, 0, "\"job\" is not a non-negative integer");
		out->job = (uint64_t)json_integer_value(job);
		out->kind = job_keys[i].kind;
		if (job_keys[i].text)
			return parse_text(v, job_keys[i].key, &out->text, err);
		return parse_int(v, job_keys[i].key, &out->value, err);
	}
	out->kind = FS_MSG_NONE;
	return 0;
}

int fs_msg_parse(const char *data, size_t len, struct fs_msg *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return err_set(err, 0, "not JSON: %s (at byte %d)", jerr.text, jerr.position);
	int ret;
	if (!json_is_object(o))
		ret = err_set(err, 0, "not a JSON object");
	else
		ret = parse_object(o, out, err);
	json_decref(o);
	if (ret < 0)
		fs_msg_release(out);
	return ret;
}

/* ---- encoding ------------------------------------------------------------ */

/* Appends s to a, or fails on invalid UTF-8. */
static int append_str(json_t *a, const char *s, const char *what, struct err **err)
{
	json_t *v = json_string(s);
	if (!v)
		return err_set(err, EILSEQ, "%s is not valid UTF-8", what);
	json_array_append_new(a, v);
	return 0;
}

static json_t *strv_json(const char *const *v, const char *what, struct err **err)
{
	json_t *a = json_array();
	if (!a)
		abort(); /* out of memory */
	for (size_t i = 0; v && v[i]; i++) {
		if (append_str(a, v[i], what, err) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *fs_request_encode(const struct fs_request *rq, size_t *len, struct err **err)
{
	json_t *o = json_object();
	if (!o)
		abort(); /* out of memory */
	json_t *program = json_string(rq->program ? rq->program : "");
	json_t *cwd = json_string(rq->cwd ? rq->cwd : "/");
	json_t *argv = strv_json(rq->argv, "an argument", err);
	json_t *envp = argv ? strv_json(rq->envp, "an environment variable", err) : NULL;
	char *text = NULL;
	if (!program || !cwd) {
		err_set(err, EILSEQ, "the program or working directory is not valid UTF-8");
	} else if (argv && envp) {
		json_object_set_new(o, "job", json_integer((json_int_t)rq->job));
		json_object_set_new(o, "program", json_incref(program));
		json_object_set_new(o, "argv", json_incref(argv));
		json_object_set_new(o, "envp", json_incref(envp));
		json_object_set_new(o, "cwd", json_incref(cwd));
		json_object_set_new(o, "network", json_string(network_mode_name(rq->network)));
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text)
			abort(); /* out of memory */
	}
	json_decref(program);
	json_decref(cwd);
	json_decref(argv);
	json_decref(envp);
	json_decref(o);
	if (!text)
		return NULL;
	*len = strlen(text);
	if (*len > FORKSERVER_MAX_MSG) {
		err_set(err, EMSGSIZE, "the request is %zu bytes, more than the protocol's %u",
			*len, FORKSERVER_MAX_MSG);
		free(text);
		return NULL;
	}
	return text;
}

/* ---- datagrams ----------------------------------------------------------- */

int fs_send(int sock, const void *data, size_t len, const int *fds, size_t nfds)
{
	if (nfds > FS_MAX_FDS)
		return -EINVAL;
	union {
		char buf[CMSG_SPACE(sizeof(int) * FS_MAX_FDS)];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds > 0) {
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

/* Moves the fds of every SCM_RIGHTS block into fds; closes those beyond
 * FS_MAX_FDS. Returns false when some did not fit. */
static bool take_fds(struct msghdr *mh, int *fds, size_t *nfds)
{
	bool fit = true;
	*nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (*nfds < FS_MAX_FDS) {
				fds[(*nfds)++] = fd;
			} else {
				close(fd);
				fit = false;
			}
		}
	}
	return fit;
}

ssize_t fs_recv(int sock, void *buf, size_t cap, int *fds, size_t *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FS_MAX_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	*nfds = 0;
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	bool fit = take_fds(&mh, fds, nfds);
	if (!fit || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		for (size_t i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EMSGSIZE;
	}
	return n;
}
