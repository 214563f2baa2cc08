/*
 * cargo_build: cargo's JSON messages parsed, and the build streamed through
 * the reactor. See cargo_build.h.
 */
#include "runners/cargo/cargo_build.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "core/xalloc.h"
#include "runners/cargo/cargo_meta.h"

/* Error lines of cargo's kept for the failure message. */
#define MAX_ERROR_LINES 20

static const char *get_string(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* package_id and target of an artifact or a compiler message. */
static int parse_target(json_t *doc, struct cargo_msg *out, const char *reason,
			struct err **err)
{
	const char *pkg = get_string(doc, "package_id");
	json_t *target = json_object_get(doc, "target");
	const char *name = get_string(target, "name");
	json_t *kinds = json_object_get(target, "kind");
	if (!pkg || !name || !json_is_array(kinds))
		return err_set(err, 0, "cargo message `%s` lacks `package_id` or `target`", reason);
	out->package_id = xstrdup_or_null(pkg);
	out->target_name = xstrdup_or_null(name);
	size_t i;
	json_t *k;
	json_array_foreach(kinds, i, k) {
		if (!json_is_string(k))
			continue;
		out->target_kind = cargo_kind_from_word(json_string_value(k));
		if (out->target_kind != TARGET_NONE)
			break;
	}
	return 0;
}

static int parse_doc(json_t *doc, struct cargo_msg *out, struct err **err)
{
	const char *reason = get_string(doc, "reason");
	if (!reason)
		return err_set(err, 0, "cargo message without a `reason`");
	if (strcmp(reason, "compiler-artifact") == 0) {
		out->kind = CARGO_MSG_ARTIFACT;
		if (parse_target(doc, out, reason, err) < 0)
			return -1;
		json_t *profile = json_object_get(doc, "profile");
		out->profile_test = json_is_true(json_object_get(profile, "test"));
		out->executable = xstrdup_or_null(get_string(doc, "executable"));
		return 0;
	}
	if (strcmp(reason, "compiler-message") == 0) {
		out->kind = CARGO_MSG_COMPILER_MESSAGE;
		if (parse_target(doc, out, reason, err) < 0)
			return -1;
		json_t *message = json_object_get(doc, "message");
		out->text = xstrdup_or_null(get_string(message, "rendered"));
		return 0;
	}
	if (strcmp(reason, "build-finished") == 0) {
		json_t *success = json_object_get(doc, "success");
		if (!json_is_boolean(success))
			return err_set(err, 0, "cargo message `build-finished` lacks `success`");
		out->kind = CARGO_MSG_BUILD_FINISHED;
		out->success = json_is_true(success);
		return 0;
	}
	out->kind = CARGO_MSG_OTHER;
	return 0;
}

int cargo_msg_parse(const char *line, size_t len, struct cargo_msg *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	size_t start = 0;
	while (start < len && (line[start] == ' ' || line[start] == '\t'))
		start++;
	if (start == len || line[start] != '{') {
		out->kind = CARGO_MSG_TEXT;
		out->text = strndup(line, len);
		if (!out->text)
			abort();
		return 0;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(line, len, 0, &jerr);
	if (!doc)
		return err_set(err, 0, "cargo printed a line that is not valid JSON (column %d: %s)",
			       jerr.column, jerr.text);
	int rc = json_is_object(doc) ? parse_doc(doc, out, err)
				     : err_set(err, 0, "cargo printed JSON that is not an object");
	json_decref(doc);
	if (rc < 0)
		cargo_msg_release(out);
	return rc;
}

void cargo_msg_release(struct cargo_msg *m)
{
	free(m->package_id);
	free(m->target_name);
	free(m->executable);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

bool cargo_msg_is_test_binary(const struct cargo_msg *m)
{
	return m->kind == CARGO_MSG_ARTIFACT && m->profile_test && m->executable &&
	       *m->executable;
}

/* ---- the build ------------------------------------------------------------ */

struct cargo_build {
	struct subprocess *sp;
	struct cargo_build_cbs cbs;
	void *arg;
	bool finished_seen;        /* a build-finished message came */
	bool finished_ok;
	struct buf errors;         /* cargo's "error..." lines */
	unsigned n_errors;
	unsigned in_cb;            /* owner callbacks running */
	bool freed;                /* cargo_build_free was called */
};

static void release(struct cargo_build *b)
{
	buf_release(&b->errors);
	free(b);
}

/* Shows a line, unless the owner freed the build in an earlier callback. */
static void say(struct cargo_build *b, const char *text)
{
	if (!b->freed && b->cbs.text)
		b->cbs.text(b->arg, text);
}

static void keep_error_line(struct cargo_build *b, const char *line)
{
	if (strncmp(line, "error", 5) != 0 || b->n_errors >= MAX_ERROR_LINES)
		return;
	if (b->errors.len)
		buf_append(&b->errors, "\n", 1);
	buf_appends(&b->errors, line);
	b->n_errors++;
}

static void on_stdout_line(struct cargo_build *b, const char *line, size_t len)
{
	struct cargo_msg m;
	struct err *err = NULL;
	if (cargo_msg_parse(line, len, &m, &err) < 0) {
		log_debug("cargo: %s", err_msg(err));
		err_free(&err);
		say(b, line);
		return;
	}
	switch (m.kind) {
	case CARGO_MSG_ARTIFACT:
		if (cargo_msg_is_test_binary(&m) && b->cbs.binary)
			b->cbs.binary(b->arg, &m);
		break;
	case CARGO_MSG_COMPILER_MESSAGE:
	case CARGO_MSG_TEXT:
		if (m.text && *m.text)
			say(b, m.text);
		break;
	case CARGO_MSG_BUILD_FINISHED:
		b->finished_seen = true;
		b->finished_ok = m.success;
		break;
	case CARGO_MSG_OTHER:
		break;
	}
	cargo_msg_release(&m);
}

/* Owner callbacks run only from here and on_done, between in_cb++ and
 * in_cb--; a build freed meanwhile is released on the way out. */
static void on_line(struct subprocess *sp, int stream, const char *line, size_t len, void *arg)
{
	struct cargo_build *b = arg;
	(void)sp;
	b->in_cb++;
	if (stream == 1) {
		on_stdout_line(b, line, len);
	} else {
		keep_error_line(b, line);
		say(b, line);
	}
	b->in_cb--;
	if (b->freed && b->in_cb == 0)
		release(b);
}

static void on_done(struct subprocess *sp, const struct child_status *st, void *arg)
{
	struct cargo_build *b = arg;
	(void)sp;
	bool exited_ok = !st->signaled && st->code == 0;
	bool ok = exited_ok && (!b->finished_seen || b->finished_ok);
	char *msg = NULL;
	if (!ok) {
		char status[96];
		subprocess_status_text(st, status, sizeof(status));
		struct buf m = BUF_INIT;
		buf_appendf(&m, "building the tests failed (cargo %s)", status);
		if (b->errors.len)
			buf_appendf(&m, ":\n%s", b->errors.data);
		msg = buf_detach(&m, NULL);
	}
	b->in_cb++;
	b->cbs.done(b->arg, ok, msg);
	b->in_cb--;
	free(msg);
	if (b->freed && b->in_cb == 0)
		release(b);
}

int cargo_build_start(struct cargo_build **out, struct reactor *r, const char *const *argv,
		      const char *cwd, const struct cargo_build_cbs *cbs, void *arg,
		      struct err **err)
{
	struct cargo_build *b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->cbs = *cbs;
	b->arg = arg;
	struct subprocess_options so = {
		.argv = argv,
		.cwd = cwd,
		.out = SUBPROCESS_LINES,
		.err = SUBPROCESS_LINES,
		.new_process_group = true,
		.on_line = on_line,
		.on_done = on_done,
		.arg = b,
	};
	if (subprocess_spawn(&b->sp, r, &so, err) < 0) {
		release(b);
		*out = NULL;
		return err_wrap(err, "building the tests");
	}
	*out = b;
	return 0;
}

void cargo_build_free(struct cargo_build *b)
{
	if (!b || b->freed)
		return;
	b->freed = true;
	subprocess_free(b->sp);
	b->sp = NULL;
	if (b->in_cb == 0)
		release(b);
}
