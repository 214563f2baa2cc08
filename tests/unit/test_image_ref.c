/* Unit tests for artifacts/image_ref: docker:// references as the book
 * describes them, their checks and canonical form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "artifacts/image_ref.h"
#include "artifacts/image_registry.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct want {
	const char *text;
	const char *registry, *api_host, *repository, *tag, *digest, *canonical;
};

static void check(const struct want *w)
{
	struct image_ref r;
	struct err *err = NULL;
	if (image_ref_parse(w->text, &r, &err) < 0)
		fail_msg("%s: %s", w->text, err_msg(err));
	assert_string_equal(r.registry, w->registry);
	assert_string_equal(r.api_host, w->api_host);
	assert_string_equal(r.repository, w->repository);
	if (w->tag)
		assert_string_equal(r.tag, w->tag);
	else
		assert_null(r.tag);
	if (w->digest)
		assert_string_equal(r.digest, w->digest);
	else
		assert_null(r.digest);
	char *c = image_ref_canonical(&r);
	assert_string_equal(c, w->canonical);
	free(c);
	image_ref_release(&r);
	assert_null(r.registry);
}

static void test_names(void **state)
{
	(void)state;
	static const struct want cases[] = {
		{ "python", "docker.io", "registry-1.docker.io", "library/python", "latest", NULL,
		  "docker://docker.io/library/python:latest" },
		{ "python:3.11-slim", "docker.io", "registry-1.docker.io", "library/python",
		  "3.11-slim", NULL, "docker://docker.io/library/python:3.11-slim" },
		{ "docker.io/library/python:3.11-slim", "docker.io", "registry-1.docker.io",
		  "library/python", "3.11-slim", NULL,
		  "docker://docker.io/library/python:3.11-slim" },
		{ "index.docker.io/python", "docker.io", "registry-1.docker.io", "library/python",
		  "latest", NULL, "docker://docker.io/library/python:latest" },
		{ "bitnami/redis:7", "docker.io", "registry-1.docker.io", "bitnami/redis", "7", NULL,
		  "docker://docker.io/bitnami/redis:7" },
		{ "localhost/busybox", "localhost", "localhost", "busybox", "latest", NULL,
		  "docker://localhost/busybox:latest" },
		{ "localhost:5000/busybox:1", "localhost:5000", "localhost:5000", "busybox", "1",
		  NULL, "docker://localhost:5000/busybox:1" },
		{ "127.0.0.1:5123/a/b/c:v1.0_x-y", "127.0.0.1:5123", "127.0.0.1:5123", "a/b/c",
		  "v1.0_x-y", NULL, "docker://127.0.0.1:5123/a/b/c:v1.0_x-y" },
		{ "[::1]:5000/busy", "[::1]:5000", "[::1]:5000", "busy", "latest", NULL,
		  "docker://[::1]:5000/busy:latest" },
		{ "quay.io/org/tool", "quay.io", "quay.io", "org/tool", "latest", NULL,
		  "docker://quay.io/org/tool:latest" },
		{ "ghcr.io/a_b/c__d/e--f/g.h", "ghcr.io", "ghcr.io", "a_b/c__d/e--f/g.h", "latest",
		  NULL, "docker://ghcr.io/a_b/c__d/e--f/g.h:latest" },
		/* a first component with neither '.' nor ':' is not a host */
		{ "myhost/busybox", "docker.io", "registry-1.docker.io", "myhost/busybox", "latest",
		  NULL, "docker://docker.io/myhost/busybox:latest" },
		/* no slash: "localhost:5000" is name localhost, tag 5000 */
		{ "localhost:5000", "docker.io", "registry-1.docker.io", "library/localhost", "5000",
		  NULL, "docker://docker.io/library/localhost:5000" },
		{ "busybox@sha256:" D64, "docker.io", "registry-1.docker.io", "library/busybox", NULL,
		  "sha256:" D64, "docker://docker.io/library/busybox@sha256:" D64 },
		{ "localhost:5000/busybox:1@sha256:" D64, "localhost:5000", "localhost:5000",
		  "busybox", "1", "sha256:" D64, "docker://localhost:5000/busybox:1@sha256:" D64 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(&cases[i]);
}

static void check_error(const char *text, const char *needle)
{
	struct image_ref r;
	struct err *err = NULL;
	if (image_ref_parse(text, &r, &err) == 0)
		fail_msg("`%s` was accepted", text);
	assert_non_null(err);
	if (!strstr(err_msg(err), needle))
		fail_msg("`%s`: message `%s` lacks `%s`", text, err_msg(err), needle);
	assert_null(r.registry);
	assert_null(r.repository);
	err_free(&err);
}

static void test_errors(void **state)
{
	(void)state;
	check_error("", "empty");
	check_error(":1", "has no name");
	check_error("@sha256:" D64, "has no name");
	check_error("Busybox", "`library/Busybox` must be lowercase: write `library/busybox`");
	check_error("localhost:5000/Busy/Box:1", "must be lowercase: write `busy/box`");
	check_error("a//b", "repository name `a//b` is not valid");
	check_error("localhost:5000/", "repository name `` is not valid");
	check_error("localhost:5000/a-", "is not valid");
	check_error("localhost:5000/_a", "is not valid");
	check_error("localhost:5000/a___b", "is not valid");
	check_error("localhost:5000/a..b", "is not valid");
	check_error("busy box", "is not valid");
	check_error("busybox:", "tag `` is not valid");
	check_error("busybox:.x", "tag `.x` is not valid");
	check_error("busybox:-x", "tag `-x` is not valid");
	check_error("busybox:a+b", "tag `a+b` is not valid");
	char longtag[200];
	memset(longtag, 'x', sizeof(longtag));
	memcpy(longtag, "busybox:", 8);
	longtag[8 + 129] = '\0';
	check_error(longtag, "is not valid: use 1 to 128");
	check_error("busybox@sha256:abc", "digest `sha256:abc` is not valid");
	check_error("busybox@sha512:" D64, "is not valid: write `sha256:`");
	check_error("busybox@sha256:" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		    "lowercase hex");
	check_error("localhost:99999/busybox", "registry `localhost:99999` is not valid");
	check_error("localhost:/busybox", "registry `localhost:` is not valid");
	check_error("-bad.io/busybox", "registry `-bad.io` is not valid");
	check_error("bad..io/busybox", "registry `bad..io` is not valid");
	check_error("[::1/busybox", "registry `[::1` is not valid");
	check_error("[zz]:5000/busybox", "is not valid");
	char longname[300];
	memset(longname, 'a', sizeof(longname));
	longname[299] = '\0';
	check_error(longname, "longer than 255");
}

static void test_host_port(void **state)
{
	(void)state;
	char *h = image_ref_host("localhost:5000");
	assert_string_equal(h, "localhost");
	free(h);
	h = image_ref_host("[::1]:5000");
	assert_string_equal(h, "::1");
	free(h);
	h = image_ref_host("quay.io");
	assert_string_equal(h, "quay.io");
	free(h);
	assert_int_equal(image_ref_port("localhost:5000", 443), 5000);
	assert_int_equal(image_ref_port("[::1]:5001", 443), 5001);
	assert_int_equal(image_ref_port("[::1]", 443), 443);
	assert_int_equal(image_ref_port("quay.io", 443), 443);
}

static void test_plain_http(void **state)
{
	(void)state;
	assert_true(registry_plain_http("localhost", NULL));
	assert_true(registry_plain_http("localhost:5000", NULL));
	assert_true(registry_plain_http("127.0.0.1:5123", NULL));
	assert_true(registry_plain_http("[::1]:5000", ""));
	assert_false(registry_plain_http("registry-1.docker.io", NULL));
	assert_false(registry_plain_http("10.0.0.1:5000", NULL));
	/* listed hosts: with a port only that port, without any port */
	const char *list = " reg.lan:5000 , 10.0.0.1,[fe80::1]:80";
	assert_true(registry_plain_http("reg.lan:5000", list));
	assert_false(registry_plain_http("reg.lan:5001", list));
	assert_false(registry_plain_http("reg.lan", list));
	assert_true(registry_plain_http("10.0.0.1", list));
	assert_true(registry_plain_http("10.0.0.1:5000", list));
	assert_true(registry_plain_http("[fe80::1]:80", list));
	assert_false(registry_plain_http("[fe80::1]:81", list));
	assert_false(registry_plain_http("10.0.0.10", list));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_host_port),
		cmocka_unit_test(test_plain_http),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
