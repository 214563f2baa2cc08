/* Unit tests for docker:// images (artifacts/image_registry, image_docker,
 * through image_get) against a fake registry: a forked HTTP server on
 * loopback serving the fixture image, with token authentication, blob
 * redirects, and switches for corrupt answers. Each request's path is
 * appended to a log file, so a test can count what was transferred. */
#include "image_get_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "artifacts/extract.h"
#include "artifacts/image.h"
#include "artifacts/image_lock.h"

enum {
	SRV_AUTH = 1,            /* /v2/ wants a bearer token from /token */
	SRV_BASIC = 2,           /* /v2/ wants a password */
	SRV_CORRUPT_LAYER = 4,   /* layer 2 arrives with one byte changed */
	SRV_BAD_DIGEST_HDR = 8,  /* Docker-Content-Digest lies */
	SRV_REDIRECT = 16,       /* blobs are redirected to /storage/ */
};

struct fx {
	char dir[1024];
	char root[1100];
	char lock[1100];
	char log[1100];
	struct fx_image img;
	pid_t server;
	int port;
	char host[32]; /* "127.0.0.1:PORT" */
};

/* ---- the fake registry ---------------------------------------------------- */

static void reply(int fd, int status, const char *headers, const char *body, size_t len)
{
	char head[2048];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
			 len, headers);
	if (write(fd, head, (size_t)n) < 0 || (len && write(fd, body, len) < 0))
		return;
}

static void reply_json(int fd, int status, const char *extra, const char *json)
{
	char headers[1024];
	snprintf(headers, sizeof(headers), "Content-Type: application/json\r\n%s", extra);
	reply(fd, status, headers, json, strlen(json));
}

static const struct fx_blob *find_blob(const struct fx *f, const char *digest)
{
	const struct fx_blob *all[] = { &f->img.layers[0], &f->img.layers[1], &f->img.config };
	for (size_t i = 0; i < 3; i++)
		if (strcmp(all[i]->digest, digest) == 0)
			return all[i];
	return NULL;
}

static void serve_manifest(int fd, const struct fx_blob *b, const char *media_type, int mode)
{
	char headers[512];
	snprintf(headers, sizeof(headers), "Content-Type: %s\r\nDocker-Content-Digest: %s\r\n",
		 media_type,
		 mode & SRV_BAD_DIGEST_HDR ?
			 "sha256:9999999999999999999999999999999999999999999999999999999999999999" :
			 b->digest);
	reply(fd, 200, headers, b->data, b->len);
}

static void serve_blob(int fd, const struct fx *f, const struct fx_blob *b, int mode)
{
	if (!(mode & SRV_CORRUPT_LAYER) || b != &f->img.layers[1]) {
		reply(fd, 200, "Content-Type: application/octet-stream\r\n", b->data, b->len);
		return;
	}
	char *copy = malloc(b->len);
	memcpy(copy, b->data, b->len);
	copy[b->len / 2] ^= 1;
	reply(fd, 200, "", copy, b->len);
	free(copy);
}

static void route(int fd, const struct fx *f, int mode, const char *path, const char *auth)
{
	const char *v2 = "/v2/test/img/";
	if (strncmp(path, "/token?", 7) == 0) {
		bool ok = strstr(path, "scope=repository%3Atest%2Fimg%3Apull") &&
			  strstr(path, "service=fake");
		reply_json(fd, ok ? 200 : 400, "", ok ? "{\"token\":\"tok123\"}" : "{}");
		return;
	}
	if (strncmp(path, "/v2/", 4) == 0 && (mode & SRV_BASIC)) {
		reply_json(fd, 401, "WWW-Authenticate: Basic realm=\"fake\"\r\n", "{}");
		return;
	}
	if (strncmp(path, "/v2/", 4) == 0 && (mode & SRV_AUTH) &&
	    (!auth || strcmp(auth, "Bearer tok123") != 0)) {
		char h[512];
		snprintf(h, sizeof(h),
			 "WWW-Authenticate: Bearer realm=\"http://%s/token\",service=\"fake\","
			 "scope=\"repository:test/img:pull\"\r\n",
			 f->host);
		reply_json(fd, 401, h,
			   "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"token\"}]}");
		return;
	}
	if (strcmp(path, "/v2/test/broken/manifests/x") == 0) {
		reply_json(fd, 500, "", "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"boom\"}]}");
		return;
	}
	if (strncmp(path, v2, strlen(v2)) == 0) {
		const char *rest = path + strlen(v2);
		if (strcmp(rest, "manifests/v1") == 0 ||
		    (strncmp(rest, "manifests/", 10) == 0 &&
		     strcmp(rest + 10, f->img.index.digest) == 0)) {
			serve_manifest(fd, &f->img.index, "application/vnd.oci.image.index.v1+json",
				       mode);
			return;
		}
		if (strncmp(rest, "manifests/", 10) == 0 &&
		    strcmp(rest + 10, f->img.manifest.digest) == 0) {
			serve_manifest(fd, &f->img.manifest,
				       "application/vnd.oci.image.manifest.v1+json", mode);
			return;
		}
		const struct fx_blob *b =
			strncmp(rest, "blobs/", 6) == 0 ? find_blob(f, rest + 6) : NULL;
		if (b && (mode & SRV_REDIRECT)) {
			char h[256];
			/* another host name for the same server, as registries
			 * send blobs from a storage service */
			snprintf(h, sizeof(h), "Location: http://localhost:%d/storage/%s\r\n", f->port,
				 b->digest);
			reply(fd, 307, h, "", 0);
			return;
		}
		if (b) {
			serve_blob(fd, f, b, mode);
			return;
		}
	}
	if (strncmp(path, "/storage/", 9) == 0 && find_blob(f, path + 9)) {
		if (auth) { /* the token must not leave the registry */
			reply_json(fd, 400, "", "{}");
			return;
		}
		serve_blob(fd, f, find_blob(f, path + 9), mode);
		return;
	}
	reply_json(fd, 404, "",
		   "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
}

static void serve_one(int fd, const struct fx *f, int mode)
{
	char req[8192];
	size_t n = 0;
	while (n < sizeof(req) - 1) {
		ssize_t got = read(fd, req + n, sizeof(req) - 1 - n);
		if (got <= 0)
			return;
		n += (size_t)got;
		req[n] = '\0';
		if (req[0] == 0x16) { /* a TLS handshake, as plain HTTP servers see one */
			reply(fd, 400, "", "", 0);
			return;
		}
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	char path[2048];
	if (sscanf(req, "GET %2047s HTTP/1.1", path) != 1)
		return;
	char *auth = strcasestr(req, "\r\nAuthorization: ");
	char authv[256] = "";
	if (auth)
		sscanf(auth + 17, "%255[^\r]", authv);
	int log = open(f->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (log >= 0) {
		dprintf(log, "%s\n", path);
		close(log);
	}
	route(fd, f, mode, path, auth ? authv : NULL);
}

/* Starts the registry with mode on addr (a loopback address). */
static void server_start(struct fx *f, int mode, const char *addr)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, addr, &sa.sin_addr);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 16), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	snprintf(f->host, sizeof(f->host), "%s:%d", addr, f->port);
	f->server = fork();
	assert_true(f->server >= 0);
	if (f->server == 0) {
		/* never outlive the test, even when it dies on a failed check */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		for (;;) {
			int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			serve_one(c, f, mode);
			shutdown(c, SHUT_WR);
			char drain[256];
			while (read(c, drain, sizeof(drain)) > 0)
				;
			close(c);
		}
	}
	close(s);
}

static void server_stop(struct fx *f)
{
	if (f->server <= 0)
		return;
	kill(f->server, SIGKILL);
	waitpid(f->server, NULL, 0);
	f->server = 0;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_image_registry.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/depot", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s/%s", f->dir, IMAGE_LOCK_FILE);
	snprintf(f->log, sizeof(f->log), "%s/requests.log", f->dir);
	fx_image_build(&f->img);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	server_stop(f);
	struct err *err = NULL;
	int r = extract_remove_tree(AT_FDCWD, f->dir, &err);
	if (r < 0)
		fprintf(stderr, "teardown: %s\n", err_msg(err));
	err_free(&err);
	fx_image_free(&f->img);
	free(f);
	return r;
}

/* ---- helpers -------------------------------------------------------------- */

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;
	struct err *err = NULL;
	if (depot_read_file(path, 1 << 20, &text, &len, &err) < 0) {
		err_free(&err);
		return strdup("");
	}
	return text;
}

/* How many logged requests contain needle (NULL: all). */
static int requests(const struct fx *f, const char *needle)
{
	char *log = slurp(f->log);
	int n = 0;
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		if (!needle || strstr(line, needle))
			n++;
	free(log);
	return n;
}

static void clear_log(const struct fx *f)
{
	unlink(f->log);
}

static void get_ok(const struct fx *f, const char *name, const struct image_options *o)
{
	struct image_info info;
	struct err *err = NULL;
	if (image_get(name, o, &info, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_string_equal(info.name, name);
	assert_string_equal(info.digest, f->img.manifest.digest);
	assert_string_equal(info.env[0], "PATH=/bin");
	assert_string_equal(info.env[1], "GREETING=hi");
	assert_null(info.env[2]);
	assert_string_equal(info.working_dir, "/work");
	char *names = fx_tar_names(info.layer_tar);
	assert_string_equal(names, FX_FLAT_ENTRIES);
	free(names);
	image_info_release(&info);
}

/* image_get fails with a message containing each needle (NULL-ended). */
static void get_fails(const char *name, const struct image_options *o, ...)
{
	struct image_info info;
	struct err *err = NULL;
	assert_int_equal(image_get(name, o, &info, &err), -1);
	assert_null(info.name);
	va_list ap;
	va_start(ap, o);
	for (const char *needle; (needle = va_arg(ap, const char *));)
		if (!strstr(err_msg(err), needle))
			fail_msg("`%s` lacks `%s`", err_msg(err), needle);
	va_end(ap);
	err_free(&err);
}

static char *pinned(const struct fx *f, const char *key)
{
	struct image_lock l;
	struct err *err = NULL;
	if (image_lock_read(f->lock, &l, &err) < 0)
		fail_msg("%s", err_msg(err));
	const char *d = image_lock_find(&l, key);
	char *out = d ? strdup(d) : NULL;
	image_lock_release(&l);
	return out;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pull_pin_reuse(void **state)
{
	struct fx *f = *state;
	server_start(f, SRV_AUTH | SRV_REDIRECT, "127.0.0.1");
	struct image_options o = { .depot_dir = f->root, .lock_file = f->lock };
	char *name = fx_printf("docker://%s/test/img:v1", f->host);

	/* cold: token, index, manifest, config, two layers (redirected) */
	get_ok(f, name, &o);
	assert_int_equal(requests(f, "/token?"), 1);
	assert_int_equal(requests(f, "/manifests/"), 3); /* 401, then index, manifest */
	assert_int_equal(requests(f, "/blobs/"), 3);
	assert_int_equal(requests(f, "/storage/"), 3);
	char *d = pinned(f, name);
	assert_string_equal(d, f->img.index.digest); /* the tag pins the index */
	free(d);

	/* warm: the lock file and the depot answer; no request at all */
	clear_log(f);
	get_ok(f, name, &o);
	char *by_digest = fx_printf("docker://%s/test/img@%s", f->host, f->img.manifest.digest);
	get_ok(f, by_digest, &o);
	assert_int_equal(requests(f, NULL), 0);

	/* the line deleted: the tag is resolved again, no blob is fetched */
	unlink(f->lock);
	get_ok(f, name, &o);
	assert_int_equal(requests(f, "/manifests/v1"), 2); /* 401, then with the token */
	assert_int_equal(requests(f, "/blobs/"), 0);
	d = pinned(f, name);
	assert_string_equal(d, f->img.index.digest);
	free(d);

	/* without a lock file: resolved each time, still no blob fetched */
	clear_log(f);
	struct image_options nolock = { .depot_dir = f->root };
	get_ok(f, name, &nolock);
	assert_int_equal(requests(f, "/blobs/"), 0);
	assert_int_equal(requests(f, "/manifests/"), 2);

	free(by_digest);
	free(name);
}

static void test_corrupt_layer(void **state)
{
	struct fx *f = *state;
	server_start(f, SRV_CORRUPT_LAYER, "127.0.0.1");
	struct image_options o = { .depot_dir = f->root, .lock_file = f->lock };
	char *name = fx_printf("docker://%s/test/img:v1", f->host);
	char *want = fx_printf("blob %.19s..: digest mismatch (got sha256:", f->img.layers[1].digest);
	get_fails(name, &o, name, "layer 2 of 2", want, "try again", NULL);
	/* nothing of the bad layer is kept, nothing is pinned */
	char *path = fx_printf("%s/blobs/sha256/%s", f->root, f->img.layers[1].digest + 7);
	assert_false(depot_exists(path));
	char *tmp = fx_printf("%s/tmp", f->root);
	assert_int_equal(fx_count_dir(tmp), 0);
	char *images = fx_printf("%s/images", f->root);
	assert_int_equal(fx_count_dir(images), 0);
	assert_false(depot_exists(f->lock));
	free(images);
	free(tmp);
	free(path);
	free(want);
	free(name);
}

static void test_bad_manifest_digest(void **state)
{
	struct fx *f = *state;
	server_start(f, SRV_BAD_DIGEST_HDR, "127.0.0.1");
	struct image_options o = { .depot_dir = f->root, .lock_file = f->lock };
	char *name = fx_printf("docker://%s/test/img:v1", f->host);
	get_fails(name, &o, "manifest: digest mismatch (the registry says sha256:999999999999..",
		  "corrupt manifest", NULL);
	char *blobs = fx_printf("%s/blobs/sha256", f->root);
	assert_int_equal(fx_count_dir(blobs), 0);
	assert_false(depot_exists(f->lock));
	free(blobs);
	free(name);
}

static void test_registry_errors(void **state)
{
	struct fx *f = *state;
	server_start(f, 0, "127.0.0.1");
	struct image_options o = { .depot_dir = f->root, .lock_file = f->lock };

	char *name = fx_printf("docker://%s/test/nope:1", f->host);
	char *whole = fx_printf("%s: the registry answered 404 (manifest unknown): check the name "
				"and tag", name);
	get_fails(name, &o, whole, NULL);
	free(whole);
	free(name);

	name = fx_printf("docker://%s/test/broken:x", f->host);
	get_fails(name, &o, "the registry answered 500: UNKNOWN: boom", NULL);
	free(name);

	/* a pin the registry does not know says which line to delete */
	name = fx_printf("docker://%s/test/img:v1", f->host);
	struct err *err = NULL;
	const char *d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	assert_int_equal(image_lock_add(f->lock, name, d1, &err), 0);
	get_fails(name, &o, "pins this tag to sha256:111111111111..", "delete that line",
		  "404 (manifest unknown)", NULL);
	free(name);

	/* a malformed reference never reaches the network */
	clear_log(f);
	name = fx_printf("docker://%s/Test/img:v1", f->host);
	get_fails(name, &o, "must be lowercase: write `test/img`", NULL);
	assert_int_equal(requests(f, NULL), 0);
	free(name);
}

static void test_password_registry(void **state)
{
	struct fx *f = *state;
	server_start(f, SRV_BASIC, "127.0.0.1");
	struct image_options o = { .depot_dir = f->root };
	char *name = fx_printf("docker://%s/test/img:v1", f->host);
	get_fails(name, &o, "asks for a password (Basic authentication)",
		  "no or anonymous authentication", NULL);
	free(name);
}

static void test_registry_down(void **state)
{
	struct fx *f = *state;
	/* a port nobody listens on: bound, then closed */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	int port = ntohs(sa.sin_port);
	close(s);
	struct image_options o = { .depot_dir = f->root, .lock_file = f->lock };
	char *name = fx_printf("docker://127.0.0.1:%d/x:1", port);
	char *want = fx_printf("%s: cannot connect to 127.0.0.1:%d (Connection refused): is the "
			       "registry running?", name, port);
	get_fails(name, &o, want, NULL);
	free(want);
	free(name);
	name = fx_printf("docker://localhost:%d/x:1", port);
	get_fails(name, &o, "cannot connect to localhost:", "is the registry running?", NULL);
	free(name);
}

/* Not a loopback name (127.0.0.2): HTTPS unless listed as plain HTTP. */
static void test_plain_http_list(void **state)
{
	struct fx *f = *state;
	server_start(f, 0, "127.0.0.2");
	char *name = fx_printf("docker://%s/test/img:v1", f->host);
	struct image_options tls = { .depot_dir = f->root };
	get_fails(name, &tls, "TLS", "container-registry-plain-http", NULL);
	struct image_options plain = { .depot_dir = f->root, .plain_http = "example.com,127.0.0.2" };
	get_ok(f, name, &plain);
	free(name);
}

int main(void)
{
	/* The fake registry may close a connection curl is still writing to. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pull_pin_reuse, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_layer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_manifest_digest, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_registry_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_password_registry, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_registry_down, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_plain_http_list, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
