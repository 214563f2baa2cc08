/*
 * msg: see net/msg.h.
 *
 * Messages this file builds (msg_resolved_job_new, msg_job_result_new) are
 * allocated field by field with malloc, every string copied (even empty
 * ones), and freed by the matching *_free here; decoded envelopes belong to
 * protobuf-c's unpacker and are freed with its free_unpacked.
 *
 * The in-process enums (core/spec.h, container/executor.h) use the same
 * numbers as the wire enums; the static assertions below keep it so, which
 * makes every conversion a range check plus a cast.
 */
#include "net/msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"

_Static_assert((int)MOUNT_BIND == MAELSTROM__MOUNT_KIND__MOUNT_BIND &&
	       (int)MOUNT_DEVICES == MAELSTROM__MOUNT_KIND__MOUNT_DEVICES &&
	       (int)MOUNT_DEVPTS == MAELSTROM__MOUNT_KIND__MOUNT_DEVPTS &&
	       (int)MOUNT_MQUEUE == MAELSTROM__MOUNT_KIND__MOUNT_MQUEUE &&
	       (int)MOUNT_PROC == MAELSTROM__MOUNT_KIND__MOUNT_PROC &&
	       (int)MOUNT_SYS == MAELSTROM__MOUNT_KIND__MOUNT_SYS &&
	       (int)MOUNT_TMP == MAELSTROM__MOUNT_KIND__MOUNT_TMP,
	       "enum mount_kind and maelstrom.MountKind must agree");
#define MOUNT_KIND_MAX MOUNT_TMP

_Static_assert((int)NETWORK_DISABLED == MAELSTROM__NETWORK__NETWORK_DISABLED &&
	       (int)NETWORK_LOOPBACK == MAELSTROM__NETWORK__NETWORK_LOOPBACK &&
	       (int)NETWORK_LOCAL == MAELSTROM__NETWORK__NETWORK_LOCAL,
	       "enum network_mode and maelstrom.Network must agree");
#define NETWORK_MAX NETWORK_LOCAL

_Static_assert((int)JOB_EXITED == MAELSTROM__OUTCOME__OUTCOME_EXITED &&
	       (int)JOB_SIGNALED == MAELSTROM__OUTCOME__OUTCOME_SIGNALED &&
	       (int)JOB_TIMED_OUT == MAELSTROM__OUTCOME__OUTCOME_TIMED_OUT &&
	       (int)JOB_EXECUTION_ERROR == MAELSTROM__OUTCOME__OUTCOME_EXECUTION_ERROR &&
	       (int)JOB_SYSTEM_ERROR == MAELSTROM__OUTCOME__OUTCOME_SYSTEM_ERROR &&
	       (int)JOB_CANCELED == MAELSTROM__OUTCOME__OUTCOME_CANCELED,
	       "enum job_outcome and maelstrom.Outcome must agree");
#define OUTCOME_MAX JOB_CANCELED

#define DEVICE_MASK ((1u << DEVICE_COUNT) - 1)

/* ---- small helpers ------------------------------------------------------ */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort(); /* out of memory */
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort(); /* out of memory */
	return p;
}

/* A heap copy of s; NULL counts as "". */
static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort(); /* out of memory */
	return p;
}

/* A heap copy of s, or NULL when s is NULL or empty. */
static char *strdup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

/* A heap copy of n bytes plus a NUL, or NULL when n == 0. */
static char *memdup_nul(const void *data, size_t n)
{
	if (n == 0)
		return NULL;
	char *p = xmalloc(n + 1);
	memcpy(p, data, n);
	p[n] = '\0';
	return p;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* A value from the wire made fit for an error message: at most ~60
 * characters, control characters, quotes and backslashes shown as '?'. */
struct shown {
	char text[72];
};

static struct shown show(const char *s)
{
	struct shown out;
	size_t i = 0;
	for (s = str_or_empty(s); *s && i < 60; s++) {
		unsigned char c = (unsigned char)*s;
		out.text[i++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
	}
	if (*s) {
		memcpy(out.text + i, "...", 3);
		i += 3;
	}
	out.text[i] = '\0';
	return out;
}

/* ---- envelopes ------------------------------------------------------------ */

void msg_init(msg_t *m)
{
	maelstrom__envelope__init(m);
}

static bool enum_known(const ProtobufCEnumDescriptor *desc, int value)
{
	return protobuf_c_enum_descriptor_get_value(desc, value) != NULL;
}

/* Field number 0 is invalid protobuf, but protobuf-c accepts it when the
 * tag is spelled in more than one byte (0x80 0x00) and keeps it as an
 * unknown field; re-encoded it becomes the one-byte form, which protobuf-c
 * itself then refuses. Refused here, anywhere in the tree, so a message we
 * accept always survives being forwarded. The schema has no recursion, so
 * the depth is bounded by its nesting (4). */
static int check_unknown_fields(const ProtobufCMessage *m, struct err **err)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return err_set(err, 0, "malformed message: %s holds a field numbered 0",
				       desc->name);
	const char *base = (const char *)m;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t j = 0; j < n; j++)
				if (v[j] && check_unknown_fields(v[j], err) < 0)
					return -1;
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
		if (sub && check_unknown_fields(sub, err) < 0)
			return -1;
	}
	return 0;
}

/* The guarantees msg_decode promises in net/msg.h. */
static int check_envelope(const msg_t *m, struct err **err)
{
	if (check_unknown_fields(&m->base, err) < 0)
		return -1;
	switch ((int)m->msg_case) {
	case MAELSTROM__ENVELOPE__MSG__NOT_SET:
		if (m->base.n_unknown_fields > 0)
			return err_set(err, 0, "malformed message: unknown message type (field %" PRIu32
				       "; is the peer a newer version?)",
				       m->base.unknown_fields[0].tag);
		return err_set(err, 0, "malformed message: the envelope holds no message");
	case MAELSTROM__ENVELOPE__MSG_HELLO:
		if (!enum_known(&maelstrom__role__descriptor, m->hello->role))
			return err_set(err, 0, "malformed message: hello.role: unknown value %d",
				       (int)m->hello->role);
		return 0;
	case MAELSTROM__ENVELOPE__MSG_JOB_REQUEST:
		if (!m->job_request->job)
			return err_set(err, 0, "malformed message: job_request.job is missing");
		return 0;
	case MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB:
		if (!m->enqueue_job->job)
			return err_set(err, 0, "malformed message: enqueue_job.job is missing");
		return 0;
	case MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE:
		if (!enum_known(&maelstrom__job_state__descriptor, m->job_status_update->state))
			return err_set(err, 0,
				       "malformed message: job_status_update.state: unknown value %d",
				       (int)m->job_status_update->state);
		return 0;
	case MAELSTROM__ENVELOPE__MSG_JOB_RESULT:
		if (!enum_known(&maelstrom__outcome__descriptor, m->job_result->outcome))
			return err_set(err, 0, "malformed message: job_result.outcome: unknown value %d",
				       (int)m->job_result->outcome);
		return 0;
	default:
		return 0;
	}
}

msg_t *msg_decode(const uint8_t *body, size_t len, struct err **err)
{
	msg_t *m = maelstrom__envelope__unpack(NULL, len, body);
	if (!m) {
		err_set(err, 0, "malformed message: %zu bytes that do not parse as an Envelope", len);
		return NULL;
	}
	if (check_envelope(m, err) < 0) {
		msg_free(m);
		return NULL;
	}
	return m;
}

void msg_free(msg_t *m)
{
	if (m)
		maelstrom__envelope__free_unpacked(m, NULL);
}

void msg_encode_frame(struct buf *out, const msg_t *m)
{
	size_t size = maelstrom__envelope__get_packed_size(m);
	if (size > UINT32_MAX)
		abort(); /* cannot be framed */
	buf_reserve(out, FRAME_HEADER_SIZE + size);
	uint8_t *p = (uint8_t *)out->data + out->len;
	p[0] = (uint8_t)(size >> 24);
	p[1] = (uint8_t)(size >> 16);
	p[2] = (uint8_t)(size >> 8);
	p[3] = (uint8_t)size;
	size_t packed = maelstrom__envelope__pack(m, p + FRAME_HEADER_SIZE);
	if (packed != size)
		abort(); /* protobuf-c broke its own contract */
	out->len += FRAME_HEADER_SIZE + size;
	out->data[out->len] = '\0';
}

const char *msg_name(const msg_t *m)
{
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG__NOT_SET)
		return "(none)";
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&maelstrom__envelope__descriptor,
							 (unsigned)m->msg_case);
	return f ? f->name : "(unknown)";
}

/* ---- digests ---------------------------------------------------------------- */

ProtobufCBinaryData msg_digest(const struct digest *d)
{
	/* protobuf-c's type has no const; packing only reads it. */
	return (ProtobufCBinaryData){ .len = sizeof d->bytes, .data = (uint8_t *)d->bytes };
}

int msg_digest_get(ProtobufCBinaryData b, struct digest *out, struct err **err)
{
	if (b.len != sizeof out->bytes)
		return err_set(err, 0, "digest must be %zu bytes, got %zu", sizeof out->bytes, b.len);
	memcpy(out->bytes, b.data, sizeof out->bytes);
	return 0;
}

/* ---- resolved jobs: worker_job -> wire ---------------------------------------- */

static Maelstrom__Mount *mount_new(const struct mount_spec *ms)
{
	Maelstrom__Mount *m = xmalloc(sizeof *m);
	maelstrom__mount__init(m);
	m->kind = (Maelstrom__MountKind)ms->kind;
	m->mount_point = xstrdup(ms->mount_point);
	m->local_path = xstrdup(ms->local_path);
	m->read_only = ms->read_only;
	m->devices = ms->devices;
	return m;
}

static char **strv_copy(const char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

Maelstrom__ResolvedJob *msg_resolved_job_new(const struct worker_job *job)
{
	Maelstrom__ResolvedJob *rj = xmalloc(sizeof *rj);
	maelstrom__resolved_job__init(rj);

	rj->n_layers = job->n_layers;
	rj->layers = xcalloc(job->n_layers, sizeof *rj->layers);
	for (size_t i = 0; i < job->n_layers; i++) {
		rj->layers[i].len = sizeof job->layers[i].bytes;
		rj->layers[i].data = xmalloc(sizeof job->layers[i].bytes);
		memcpy(rj->layers[i].data, job->layers[i].bytes, sizeof job->layers[i].bytes);
	}

	rj->n_mounts = job->n_mounts;
	rj->mounts = xcalloc(job->n_mounts, sizeof *rj->mounts);
	for (size_t i = 0; i < job->n_mounts; i++)
		rj->mounts[i] = mount_new(&job->mounts[i]);

	rj->network = (Maelstrom__Network)job->network;
	rj->writable_root = job->writable_root;
	rj->user = job->user;
	rj->group = job->group;
	rj->working_directory = xstrdup(job->working_directory);
	rj->program = xstrdup(job->program);

	rj->n_arguments = job->n_arguments;
	rj->arguments = strv_copy(job->arguments, job->n_arguments);

	size_t n_env = 0;
	while (job->envp && job->envp[n_env])
		n_env++;
	rj->n_environment = n_env;
	rj->environment = strv_copy(job->envp, n_env);

	rj->timeout_s = job->timeout_s;

	size_t n_fs = 0;
	while (job->fork_server_argv && job->fork_server_argv[n_fs])
		n_fs++;
	rj->n_fork_server_argv = n_fs;
	rj->fork_server_argv = n_fs ? strv_copy(job->fork_server_argv, n_fs) : NULL;
	return rj;
}

void msg_resolved_job_free(Maelstrom__ResolvedJob *rj)
{
	if (!rj)
		return;
	for (size_t i = 0; i < rj->n_layers; i++)
		free(rj->layers[i].data);
	free(rj->layers);
	for (size_t i = 0; i < rj->n_mounts; i++) {
		Maelstrom__Mount *m = rj->mounts[i];
		free(m->mount_point);
		free(m->local_path);
		free(m);
	}
	free(rj->mounts);
	free(rj->working_directory);
	free(rj->program);
	strv_free(rj->arguments, rj->n_arguments);
	strv_free(rj->environment, rj->n_environment);
	strv_free(rj->fork_server_argv, rj->n_fork_server_argv);
	free(rj);
}

/* ---- resolved jobs: wire -> worker_job ------------------------------------------ */

static int check_mount(const Maelstrom__Mount *m, size_t i, struct err **err)
{
	if (!m)
		return err_set(err, 0, "job.mounts[%zu]: missing", i);
	int kind = (int)m->kind;
	if (kind < 0 || kind > MOUNT_KIND_MAX)
		return err_set(err, 0, "job.mounts[%zu].kind: unknown value %d", i, kind);
	if (kind == MOUNT_DEVICES) {
		if (m->devices & ~DEVICE_MASK)
			return err_set(err, 0, "job.mounts[%zu].devices: unknown device bits 0x%x", i,
				       m->devices & ~DEVICE_MASK);
		return 0;
	}
	const char *point = str_or_empty(m->mount_point);
	if (point[0] != '/')
		return err_set(err, 0, "job.mounts[%zu].mount_point: must be absolute, got \"%s\"", i,
			       show(point).text);
	if (kind == MOUNT_BIND && str_or_empty(m->local_path)[0] == '\0')
		return err_set(err, 0, "job.mounts[%zu].local_path: must not be empty for a bind mount",
			       i);
	return 0;
}

static int check_job(const Maelstrom__ResolvedJob *rj, struct err **err)
{
	struct digest d;
	for (size_t i = 0; i < rj->n_layers; i++)
		if (msg_digest_get(rj->layers[i], &d, err) < 0)
			return err_wrap(err, "job.layers[%zu]", i);
	for (size_t i = 0; i < rj->n_mounts; i++)
		if (check_mount(rj->mounts[i], i, err) < 0)
			return -1;
	int network = (int)rj->network;
	if (network < 0 || network > NETWORK_MAX)
		return err_set(err, 0, "job.network: unknown value %d", network);
	const char *wd = str_or_empty(rj->working_directory);
	if (wd[0] != '\0' && wd[0] != '/')
		return err_set(err, 0, "job.working_directory: must be absolute, got \"%s\"",
			       show(wd).text);
	if (str_or_empty(rj->program)[0] == '\0')
		return err_set(err, 0, "job.program: must not be empty");
	for (size_t i = 0; i < rj->n_arguments; i++)
		if (!rj->arguments[i])
			return err_set(err, 0, "job.arguments[%zu]: missing", i);
	for (size_t i = 0; i < rj->n_environment; i++) {
		const char *e = str_or_empty(rj->environment[i]);
		const char *eq = strchr(e, '=');
		if (!eq || eq == e)
			return err_set(err, 0, "job.environment[%zu]: must be NAME=value, got \"%s\"",
				       i, show(e).text);
	}
	for (size_t i = 0; i < rj->n_fork_server_argv; i++)
		if (!rj->fork_server_argv[i])
			return err_set(err, 0, "job.fork_server_argv[%zu]: missing", i);
	if (rj->n_fork_server_argv && rj->fork_server_argv[0][0] == '\0')
		return err_set(err, 0, "job.fork_server_argv[0]: the zygote's program must not be "
				       "empty (send no fork_server_argv to run the job cold)");
	return 0;
}

int msg_wire_job_from(const Maelstrom__ResolvedJob *rj, struct wire_job *out, struct err **err)
{
	memset(out, 0, sizeof *out);
	if (!rj)
		return err_set(err, 0, "job: missing");
	/* Check everything first: copying cannot fail, so nothing is half
	 * built when an error is returned. */
	if (check_job(rj, err) < 0)
		return -1;

	out->layers = xcalloc(rj->n_layers, sizeof *out->layers);
	for (size_t i = 0; i < rj->n_layers; i++)
		memcpy(out->layers[i].bytes, rj->layers[i].data, sizeof out->layers[i].bytes);

	out->mounts = xcalloc(rj->n_mounts, sizeof *out->mounts);
	for (size_t i = 0; i < rj->n_mounts; i++) {
		const Maelstrom__Mount *m = rj->mounts[i];
		struct mount_spec *ms = &out->mounts[i];
		ms->kind = (enum mount_kind)m->kind;
		ms->mount_point = strdup_or_null(m->mount_point);
		ms->local_path = strdup_or_null(m->local_path);
		ms->read_only = m->read_only;
		ms->devices = m->devices;
	}

	out->arguments = strv_copy((const char *const *)rj->arguments, rj->n_arguments);
	out->envp = strv_copy((const char *const *)rj->environment, rj->n_environment);
	out->working_directory = strdup_or_null(rj->working_directory);
	out->program = xstrdup(rj->program);
	if (rj->n_fork_server_argv)
		out->fork_server_argv = strv_copy((const char *const *)rj->fork_server_argv,
						  rj->n_fork_server_argv);

	struct worker_job *j = &out->job;
	j->layers = out->layers;
	j->n_layers = rj->n_layers;
	j->mounts = out->mounts;
	j->n_mounts = rj->n_mounts;
	j->network = (enum network_mode)rj->network;
	j->writable_root = rj->writable_root;
	j->user = rj->user;
	j->group = rj->group;
	j->working_directory = out->working_directory;
	j->program = out->program;
	j->arguments = (const char *const *)out->arguments;
	j->n_arguments = rj->n_arguments;
	j->envp = (const char *const *)out->envp;
	j->timeout_s = rj->timeout_s;
	j->bind_base_dir = NULL;
	j->fork_server_argv = (const char *const *)out->fork_server_argv;
	return 0;
}

void msg_wire_job_release(struct wire_job *wj)
{
	free(wj->layers);
	for (size_t i = 0; wj->mounts && i < wj->job.n_mounts; i++) {
		free(wj->mounts[i].mount_point);
		free(wj->mounts[i].local_path);
	}
	free(wj->mounts);
	strv_free(wj->arguments, wj->job.n_arguments);
	if (wj->envp) {
		for (char **e = wj->envp; *e; e++)
			free(*e);
		free(wj->envp);
	}
	free(wj->working_directory);
	free(wj->program);
	if (wj->fork_server_argv) {
		for (char **a = wj->fork_server_argv; *a; a++)
			free(*a);
		free(wj->fork_server_argv);
	}
	memset(wj, 0, sizeof *wj);
}

/* ---- fork-server keys ------------------------------------------------------------ */

static void key_u64(struct digest_state *st, uint64_t v)
{
	uint8_t b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	digest_state_update(st, b, sizeof b);
}

/* Length first, so that ("ab", "c") and ("a", "bc") differ. */
static void key_str(struct digest_state *st, const char *s)
{
	s = str_or_empty(s);
	size_t n = strlen(s);
	key_u64(st, n);
	digest_state_update(st, s, n);
}

static void key_strv(struct digest_state *st, char *const *v, size_t n)
{
	key_u64(st, n);
	for (size_t i = 0; i < n; i++)
		key_str(st, v[i]);
}

bool msg_fork_server_key(const Maelstrom__ResolvedJob *rj, struct digest *out)
{
	if (!rj || rj->n_fork_server_argv == 0)
		return false;
	struct digest_state *st = digest_state_new();
	key_strv(st, rj->fork_server_argv, rj->n_fork_server_argv);
	key_u64(st, rj->n_layers);
	for (size_t i = 0; i < rj->n_layers; i++) {
		key_u64(st, rj->layers[i].len);
		digest_state_update(st, rj->layers[i].data, rj->layers[i].len);
	}
	key_u64(st, rj->n_mounts);
	for (size_t i = 0; i < rj->n_mounts; i++) {
		const Maelstrom__Mount *m = rj->mounts[i];
		if (!m) {
			key_u64(st, UINT64_MAX);
			continue;
		}
		key_u64(st, (uint64_t)m->kind);
		key_str(st, m->mount_point);
		key_str(st, m->local_path);
		key_u64(st, m->read_only);
		key_u64(st, m->devices);
	}
	key_u64(st, (uint64_t)rj->network);
	key_u64(st, rj->writable_root);
	key_u64(st, rj->user);
	key_u64(st, rj->group);
	key_str(st, rj->working_directory);
	key_strv(st, rj->environment, rj->n_environment);
	digest_state_final(st, out);
	digest_state_free(st);
	return true;
}

/* ---- results -------------------------------------------------------------------- */

static ProtobufCBinaryData bytes_copy(const char *data, size_t len)
{
	ProtobufCBinaryData b = { .len = len, .data = NULL };
	if (len) {
		b.data = xmalloc(len);
		memcpy(b.data, data, len);
	}
	return b;
}

Maelstrom__JobResult *msg_job_result_new(uint64_t job_id, const struct job_result *res,
					 const char *worker)
{
	Maelstrom__JobResult *jr = xmalloc(sizeof *jr);
	maelstrom__job_result__init(jr);
	jr->job_id = job_id;
	jr->outcome = (Maelstrom__Outcome)res->outcome;
	jr->code = res->code;
	jr->message = xstrdup(res->message);
	jr->stdout = bytes_copy(res->out.data, res->out.len);
	jr->stderr = bytes_copy(res->err.data, res->err.len);
	jr->stdout_truncated = res->out.truncated;
	jr->stderr_truncated = res->err.truncated;
	jr->duration_ns = res->duration_ns;
	jr->worker = xstrdup(worker);
	return jr;
}

void msg_job_result_free(Maelstrom__JobResult *jr)
{
	if (!jr)
		return;
	free(jr->message);
	free(jr->stdout.data);
	free(jr->stderr.data);
	free(jr->worker);
	free(jr);
}

void msg_job_result_to(const Maelstrom__JobResult *jr, struct job_result *out)
{
	memset(out, 0, sizeof *out);
	int outcome = (int)jr->outcome;
	out->code = jr->code;
	if (outcome < 0 || outcome > OUTCOME_MAX) {
		out->outcome = JOB_SYSTEM_ERROR;
		if (asprintf(&out->message, "unknown job outcome %d (%s)", outcome,
			     str_or_empty(jr->message)) < 0)
			abort(); /* out of memory */
	} else {
		out->outcome = (enum job_outcome)outcome;
		out->message = strdup_or_null(jr->message);
	}
	out->out.data = memdup_nul(jr->stdout.data, jr->stdout.len);
	out->out.len = jr->stdout.len;
	out->out.truncated = jr->stdout_truncated;
	out->err.data = memdup_nul(jr->stderr.data, jr->stderr.len);
	out->err.len = jr->stderr.len;
	out->err.truncated = jr->stderr_truncated;
	out->duration_ns = jr->duration_ns;
	out->worker = strdup_or_null(jr->worker);
}
