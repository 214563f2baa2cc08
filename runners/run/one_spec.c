#include "runners/run/one_spec.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonstream.h"
#include "core/spec_json.h"

struct reader {
	struct job_spec *out;
	bool got;             /* a value (good or bad) ended */
	struct err *err;      /* its error */
};

static void on_value(void *arg, json_t *value, const struct json_pos *pos)
{
	struct reader *rd = arg;
	if (rd->got) {
		json_decref(value);
		return;
	}
	rd->got = true;
	if (job_spec_from_json(value, rd->out, &rd->err) < 0)
		err_wrap(&rd->err, "job spec at line %zu column %zu", pos->line, pos->column);
	json_decref(value);
}

static void on_error(void *arg, const struct json_pos *pos, const char *msg)
{
	struct reader *rd = arg;
	(void)pos;
	if (rd->got)
		return;
	rd->got = true;
	err_set(&rd->err, 0, "%s", msg);
}

/* Reads one byte, waiting if fd is non-blocking. Returns 1, 0 at the end,
 * or -1 with errno set. With wait false, returns 0 when nothing is there
 * right now. */
static int read_byte(int fd, char *c, bool wait)
{
	for (;;) {
		if (!wait) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int rc = poll(&p, 1, 0);
			if (rc < 0 && errno == EINTR)
				continue;
			if (rc <= 0 || !(p.revents & POLLIN))
				return rc < 0 ? -1 : 0;
		}
		ssize_t n = read(fd, c, 1);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		if (!wait)
			return 0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

/* The blanks and the newline that ended the line of the closing brace. */
static void skip_line_end(int fd)
{
	char c;
	while (read_byte(fd, &c, false) == 1)
		if (c == '\n' || (c != ' ' && c != '\t' && c != '\r'))
			return;   /* another character is the job's: it is lost */
}

int one_spec_read(int fd, const char *what, struct job_spec *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct reader rd = { .out = out };
	struct jsonstream *js = jsonstream_new("job", on_value, on_error, &rd);
	int rc = 0;
	while (!rd.got) {
		char c;
		int n = read_byte(fd, &c, true);
		if (n < 0) {
			rc = err_set(err, errno, "%s: reading the job spec", what);
			break;
		}
		if (n == 0) {
			jsonstream_finish(js);
			if (!rd.got)
				rc = err_set(err, 0, "%s: no job spec in the input; give one JSON job "
					     "spec on standard input or with -f FILE", what);
			break;
		}
		jsonstream_feed(js, &c, 1);
	}
	jsonstream_free(js);
	if (rc == 0 && rd.err) {
		rc = err_set(err, 0, "%s: %s", what, err_msg(rd.err));
		job_spec_release(out);
	}
	err_free(&rd.err);
	if (rc == 0)
		skip_line_end(fd);
	return rc;
}
