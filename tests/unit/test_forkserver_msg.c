/*
 * test_forkserver_msg: the fork-server protocol's messages
 * (container/forkserver_msg.h): decoding what zygotes say (good, unknown
 * and broken messages), encoding requests, and datagrams with fds over a
 * SOCK_SEQPACKET socket pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "container/forkserver.h"
#include "container/forkserver_msg.h"

static void parse_ok(const char *text, struct fs_msg *m)
{
	struct err *e = NULL;
	if (fs_msg_parse(text, strlen(text), m, &e) < 0)
		fail_msg("%s: %s", text, err_msg(e));
}

/* Parsing fails, with a message containing `want`. */
static void parse_bad(const char *text, const char *want)
{
	struct fs_msg m;
	struct err *e = NULL;
	assert_int_equal(fs_msg_parse(text, strlen(text), &m, &e), -1);
	assert_non_null(e);
	if (!strstr(err_msg(e), want))
		fail_msg("%s: \"%s\" does not mention \"%s\"", text, err_msg(e), want);
	assert_int_equal(m.kind, FS_MSG_NONE);
	assert_null(m.text);
	err_free(&e);
}

static void test_parse_messages(void **state)
{
	(void)state;
	struct fs_msg m;
	parse_ok("{\"ready\": true}", &m);
	assert_int_equal(m.kind, FS_MSG_READY);
	parse_ok("{\"error\": \"no conftest\", \"extra\": [1]}", &m);
	assert_int_equal(m.kind, FS_MSG_ERROR);
	assert_string_equal(m.text, "no conftest");
	fs_msg_release(&m);
	assert_null(m.text);
	parse_ok("{\"job\": 7, \"pid\": 1234}", &m);
	assert_int_equal(m.kind, FS_MSG_PID);
	assert_int_equal(m.job, 7);
	assert_int_equal(m.value, 1234);
	parse_ok("{\"job\": 8, \"refused\": \"unknown test\"}", &m);
	assert_int_equal(m.kind, FS_MSG_REFUSED);
	assert_int_equal(m.job, 8);
	assert_string_equal(m.text, "unknown test");
	fs_msg_release(&m);
	parse_ok("{\"signal\": 9, \"job\": 9}", &m);
	assert_int_equal(m.kind, FS_MSG_SIGNAL);
	assert_int_equal(m.value, 9);
	parse_ok("{\"job\": 10, \"exit\": 3, \"note\": \"ignored\"}", &m);
	assert_int_equal(m.kind, FS_MSG_EXIT);
	assert_int_equal(m.job, 10);
	assert_int_equal(m.value, 3);
	/* Only unknown keys: nothing to do, not an error. */
	parse_ok("{\"hello\": 1}", &m);
	assert_int_equal(m.kind, FS_MSG_NONE);
	parse_ok("{\"job\": 3}", &m);
	assert_int_equal(m.kind, FS_MSG_NONE);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_bad("{\"ready\": tru", "not JSON");
	parse_bad("[1, 2]", "not a JSON object");
	parse_bad("{\"ready\": false}", "\"ready\" is not true");
	parse_bad("{\"error\": 3}", "\"error\" is not a string");
	parse_bad("{\"pid\": 3}", "\"pid\" without \"job\"");
	parse_bad("{\"job\": \"x\", \"exit\": 0}", "\"job\" is not a non-negative integer");
	parse_bad("{\"job\": -1, \"exit\": 0}", "\"job\" is not a non-negative integer");
	parse_bad("{\"job\": 1, \"exit\": \"0\"}", "\"exit\" is not an integer");
	parse_bad("{\"job\": 1, \"signal\": 99999999999}", "\"signal\" is out of range");
	parse_bad("{\"job\": 1, \"refused\": null}", "\"refused\" is not a string");
	parse_bad("{\"job\": 1, \"job\": 2, \"exit\": 0}", "not JSON");
}

static void test_encode_request(void **state)
{
	(void)state;
	const char *argv[] = { "sh", "-c", "echo \"hi\"\n", NULL };
	const char *envp[] = { "PATH=/bin", "A=\xc3\xa9", NULL };
	struct fs_request rq = {
		.job = 42, .program = "sh", .argv = argv, .envp = envp,
		.cwd = NULL, .network = NETWORK_LOOPBACK,
	};
	size_t len = 0;
	struct err *e = NULL;
	char *text = fs_request_encode(&rq, &len, &e);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_string_equal(text,
			    "{\"job\":42,\"program\":\"sh\",\"argv\":[\"sh\",\"-c\",\"echo \\\"hi\\\"\\n\"],"
			    "\"envp\":[\"PATH=/bin\",\"A=\xc3\xa9\"],\"cwd\":\"/\",\"network\":\"loopback\"}");
	free(text);

	/* Invalid UTF-8 cannot travel in JSON: the job must run cold. */
	const char *bad[] = { "sh", "\xff", NULL };
	rq.argv = bad;
	assert_null(fs_request_encode(&rq, &len, &e));
	assert_non_null(strstr(err_msg(e), "not valid UTF-8"));
	err_free(&e);

	/* Bigger than the protocol allows. */
	size_t big = FORKSERVER_MAX_MSG + 10;
	char *arg = malloc(big + 1);
	assert_non_null(arg);
	memset(arg, 'a', big);
	arg[big] = '\0';
	const char *huge[] = { "sh", arg, NULL };
	rq.argv = huge;
	assert_null(fs_request_encode(&rq, &len, &e));
	assert_non_null(strstr(err_msg(e), "more than the protocol's"));
	err_free(&e);
	free(arg);
}

static void test_datagrams_with_fds(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	char buf[256];
	int fds[FS_MAX_FDS];
	size_t nfds = 99;
	/* Nothing yet. */
	assert_int_equal(fs_recv(sv[0], buf, sizeof(buf), fds, &nfds), -EAGAIN);

	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fs_send(sv[1], "one", 3, p, 2), 0);
	assert_int_equal(fs_send(sv[1], "two!", 4, NULL, 0), 0);
	assert_int_equal(fs_recv(sv[0], buf, sizeof(buf), fds, &nfds), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(nfds, 2);
	/* The received fds are the same pipe, and close-on-exec. */
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fds[1], "x", 1), 1);
	char c = 0;
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(fs_recv(sv[0], buf, sizeof(buf), fds, &nfds), 4);
	assert_int_equal(nfds, 0);

	/* A datagram longer than the buffer is dropped whole, fds closed. */
	assert_int_equal(fs_send(sv[1], "0123456789", 10, p, 1), 0);
	assert_int_equal(fs_recv(sv[0], buf, 4, fds, &nfds), -EMSGSIZE);
	assert_int_equal(nfds, 0);
	assert_int_equal(fs_recv(sv[0], buf, sizeof(buf), fds, &nfds), -EAGAIN);

	/* Too many fds for one message. */
	int many[FS_MAX_FDS + 1];
	for (size_t i = 0; i < FS_MAX_FDS + 1; i++)
		many[i] = p[0];
	assert_int_equal(fs_send(sv[1], "x", 1, many, FS_MAX_FDS + 1), -EINVAL);

	/* The peer hangs up: end of stream; sending then fails without
	 * SIGPIPE. */
	close(sv[1]);
	assert_int_equal(fs_recv(sv[0], buf, sizeof(buf), fds, &nfds), 0);
	int ret = fs_send(sv[0], "late", 4, NULL, 0);
	assert_true(ret == -EPIPE || ret == -ECONNRESET);
	close(sv[0]);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_messages),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_encode_request),
		cmocka_unit_test(test_datagrams_with_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
