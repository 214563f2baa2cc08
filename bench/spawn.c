/*
 * spawn: the launch benchmark's driver. Two modes:
 *
 *   spawn -n COUNT -j PARALLEL [-i IN] [-o LOG] -- PROGRAM ARGS...
 *       runs COUNT instances of the command, at most PARALLEL at once
 *       (posix_spawn, which glibc implements with clone(CLONE_VM|CLONE_VFORK),
 *       so the cost does not grow with this process's size), reaps them with
 *       waitpid and checks that every one exited 0.
 *
 *   spawn --time [-n JOBS] [-i IN] [-o LOG] -- PROGRAM ARGS...
 *       runs the command once and times it; JOBS (default 1) is how many jobs
 *       that one command performs, so the rate is comparable with the first
 *       mode (e.g. one maelstrom-run fed 2,000 job specs).
 *
 * Both print one line on standard output when done:
 *
 *   count=2000 seconds=1.234 jobs_per_sec=1620.7
 *
 * The clock is CLOCK_MONOTONIC, started just before the first launch and
 * stopped when the last child has been reaped. Children read IN (default
 * /dev/null) and write to LOG (default: this process's stdout and stderr), so
 * the result line is never mixed with their output when LOG is given.
 *
 * Exit status: 0 when every run exited 0; 1 when any run failed (each failure
 * kind is reported on stderr, and the line is still printed); 2 on a usage
 * error or when a launch itself failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct opts {
	long count;
	long parallel;
	bool time_one;
	const char *in_path;
	const char *log_path;
	char **argv; /* the command, NULL-terminated */
};

/* What went wrong with the children, kept small: the first failure in full,
 * the rest as a count. */
struct tally {
	long failed;
	int first_status; /* wait status of the first failed child */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spawn -n COUNT -j PARALLEL [-i IN] [-o LOG] -- PROGRAM ARGS...\n"
		"       spawn --time [-n JOBS] [-i IN] [-o LOG] -- PROGRAM ARGS...\n"
		"Runs COUNT instances of PROGRAM, at most PARALLEL at once, or (--time)\n"
		"runs it once and counts it as JOBS jobs; prints\n"
		"  count=N seconds=S jobs_per_sec=R\n"
		"  -i IN   children's standard input (default /dev/null)\n"
		"  -o LOG  children's standard output and error (default: inherited)\n");
}

static int parse_count(const char *s, const char *what, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > INT_MAX) {
		fprintf(stderr, "spawn: %s must be a whole number from 1 to %d, not '%s'\n",
			what, INT_MAX, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "time", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_j = false, have_n = false;
	int c;

	*o = (struct opts){ .count = 1, .parallel = 1, .in_path = "/dev/null" };
	while ((c = getopt_long(argc, argv, "+n:j:i:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, "-n COUNT", &o->count) < 0)
				return -1;
			have_n = true;
			break;
		case 'j':
			if (parse_count(optarg, "-j PARALLEL", &o->parallel) < 0)
				return -1;
			have_j = true;
			break;
		case 'i':
			o->in_path = optarg;
			break;
		case 'o':
			o->log_path = optarg;
			break;
		case 't':
			o->time_one = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "spawn: no command given after the options\n");
		usage(stderr);
		return -1;
	}
	if (o->time_one && have_j) {
		fprintf(stderr, "spawn: -j does not apply to --time (one command runs)\n");
		return -1;
	}
	if (!o->time_one && !have_n) {
		fprintf(stderr, "spawn: say how many runs with -n COUNT\n");
		return -1;
	}
	o->argv = argv + optind;
	return 0;
}

/* Opens the children's stdin and log once and lists the dup2s every launch
 * repeats. Returns -1 with a message on stderr. */
static int setup_actions(const struct opts *o, posix_spawn_file_actions_t *fa, int *in_fd,
			 int *log_fd)
{
	*in_fd = open(o->in_path, O_RDONLY | O_CLOEXEC);
	if (*in_fd < 0) {
		int e = errno;
		fprintf(stderr, "spawn: cannot open input %s: %s\n", o->in_path, strerror(e));
		return -1;
	}
	*log_fd = -1;
	if (o->log_path) {
		*log_fd = open(o->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (*log_fd < 0) {
			int e = errno;
			fprintf(stderr, "spawn: cannot open log %s: %s\n", o->log_path,
				strerror(e));
			return -1;
		}
	}
	int rc = posix_spawn_file_actions_init(fa);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(fa, *in_fd, STDIN_FILENO);
	if (!rc && *log_fd >= 0)
		rc = posix_spawn_file_actions_adddup2(fa, *log_fd, STDOUT_FILENO);
	if (!rc && *log_fd >= 0)
		rc = posix_spawn_file_actions_adddup2(fa, *log_fd, STDERR_FILENO);
	if (rc) {
		fprintf(stderr, "spawn: cannot prepare the children's file actions: %s\n",
			strerror(rc));
		return -1;
	}
	return 0;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", status);
}

static void record(struct tally *t, int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (t->failed++ == 0)
		t->first_status = status;
}

/* Reaps one child; returns 0, or -1 when there was none to reap. */
static int reap_one(struct tally *t)
{
	int status;
	pid_t pid;

	do
		pid = waitpid(-1, &status, 0);
	while (pid < 0 && errno == EINTR);
	if (pid < 0)
		return -1;
	record(t, status);
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the whole stream. Returns how many were launched; stops launching at
 * the first posix_spawn failure (reported here) but always reaps every child
 * it started. */
static long run_stream(const struct opts *o, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, struct tally *t)
{
	long started = 0, running = 0;
	int n_to_start = o->time_one ? 1 : (int)o->count;

	while (started < n_to_start) {
		if (running == o->parallel) {
			if (reap_one(t) == 0)
				running--;
			else
				break; /* cannot happen: a child is running */
		}
		pid_t pid;
		int rc = posix_spawnp(&pid, o->argv[0], fa, attr, o->argv, environ);
		if (rc) {
			fprintf(stderr, "spawn: cannot start %s (run %ld): %s\n", o->argv[0],
				started + 1, strerror(rc));
			break;
		}
		started++;
		running++;
	}
	while (running > 0 && reap_one(t) == 0)
		running--;
	return started;
}

int main(int argc, char **argv)
{
	struct opts o;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int in_fd = -1, log_fd = -1;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (setup_actions(&o, &fa, &in_fd, &log_fd) < 0)
		return 2;
	/* Children start with default signal dispositions and mask, whatever
	 * the shell that started us ignored. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawnattr_init(&attr) || posix_spawnattr_setsigmask(&attr, &none) ||
	    posix_spawnattr_setsigdefault(&attr, &all) ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) {
		fprintf(stderr, "spawn: cannot prepare the spawn attributes\n");
		return 2;
	}

	struct tally t = { 0 };
	long want = o.time_one ? 1 : o.count;
	double start = now_seconds();
	long started = run_stream(&o, &fa, &attr, &t);
	double secs = now_seconds() - start;

	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(in_fd);
	if (log_fd >= 0)
		close(log_fd);

	if (started < want) {
		fprintf(stderr, "spawn: only %ld of %ld runs could be started\n", started, want);
		return 2;
	}
	printf("count=%ld seconds=%.3f jobs_per_sec=%.1f\n", o.count, secs,
	       secs > 0 ? (double)o.count / secs : 0.0);
	fflush(stdout);
	if (t.failed) {
		char what[96];
		describe_status(t.first_status, what, sizeof(what));
		if (o.time_one)
			fprintf(stderr, "spawn: %s failed: %s\n", o.argv[0], what);
		else
			fprintf(stderr, "spawn: %ld of %ld runs of %s failed (the first: %s)\n",
				t.failed, want, o.argv[0], what);
		return 1;
	}
	return 0;
}
