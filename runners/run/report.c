#include "runners/run/report.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0)
			return; /* a closed pipe: nothing useful left to do */
		data += n;
		len -= (size_t)n;
	}
}

static void say(const char *label, const char *fmt, const char *detail)
{
	fflush(stdout);
	if (label)
		fprintf(stderr, "%s: ", label);
	fprintf(stderr, fmt, detail);
	fputc('\n', stderr);
	fflush(stderr);
}

static void say_truncated(const char *label, const char *stream, unsigned long long n)
{
	char detail[160];
	snprintf(detail, sizeof(detail),
		 "%s truncated: %llu bytes dropped (raise --inline-limit to keep more)", stream, n);
	say(label, "%s", detail);
}

bool report_job(const char *label, const struct job_result *res)
{
	fflush(stdout);
	write_all(STDOUT_FILENO, res->out.data, res->out.len);
	write_all(STDERR_FILENO, res->err.data, res->err.len);
	if (res->out.truncated)
		say_truncated(label, "stdout", (unsigned long long)res->out.truncated);
	if (res->err.truncated)
		say_truncated(label, "stderr", (unsigned long long)res->err.truncated);

	char detail[64];
	const char *msg = res->message ? res->message : "";
	switch (res->outcome) {
	case JOB_EXITED:
		if (res->code == 0)
			return true;
		snprintf(detail, sizeof(detail), "%d", res->code);
		say(label, "exited with code %s", detail);
		return false;
	case JOB_SIGNALED:
		snprintf(detail, sizeof(detail), "%d (%s)", res->code, strsignal(res->code));
		say(label, "killed by signal %s", detail);
		return false;
	case JOB_TIMED_OUT:
		say(label, "%s", *msg ? msg : "timed out");
		return false;
	case JOB_EXECUTION_ERROR:
		say(label, "execution error: %s", msg);
		return false;
	case JOB_SYSTEM_ERROR:
		say(label, "system error: %s", msg);
		return false;
	case JOB_CANCELED:
		say(label, "%s", "canceled");
		return false;
	}
	return false;
}

int report_exit_status(const struct job_result *res, int *signo)
{
	*signo = 0;
	switch (res->outcome) {
	case JOB_EXITED:
		return res->code;
	case JOB_SIGNALED:
		*signo = res->code;
		return 128 + res->code;
	case JOB_TIMED_OUT:
		return 124; /* as timeout(1) does */
	case JOB_EXECUTION_ERROR:
	case JOB_SYSTEM_ERROR:
	case JOB_CANCELED:
		return 1;
	}
	return 1;
}
