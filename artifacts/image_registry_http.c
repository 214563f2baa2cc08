/*
 * image_registry_http: the registry client's transport: GETs on the
 * libcurl handle, anonymous token authentication, and errors that say what
 * to do; see image_registry.h.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "artifacts/image_registry_internal.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

void registry_response_reset(struct registry_response *resp)
{
	free(resp->content_type);
	free(resp->docker_digest);
	free(resp->authenticate);
	free(resp->body);
	resp->content_type = resp->docker_digest = resp->authenticate = resp->body = NULL;
	resp->status = 0;
	resp->len = resp->cap = 0;
	resp->too_large = false;
	err_free(&resp->write_err);
}

/* ---- transport ----------------------------------------------------------- */

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return NULL;
	const char *v = line + k + 1, *end = line + n;
	while (v < end && isspace((unsigned char)*v))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

static void keep_header(char **slot, char *value)
{
	if (!value)
		return;
	free(*slot);
	*slot = value;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct registry_response *resp = arg;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* A new response (after a redirect, say): forget the last one's. */
		const char *sp = memchr(data, ' ', n);
		resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		free(resp->content_type);
		free(resp->docker_digest);
		free(resp->authenticate);
		resp->content_type = resp->docker_digest = resp->authenticate = NULL;
		return n;
	}
	keep_header(&resp->content_type, header_value(data, n, "Content-Type"));
	keep_header(&resp->docker_digest, header_value(data, n, "Docker-Content-Digest"));
	keep_header(&resp->authenticate, header_value(data, n, "WWW-Authenticate"));
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct registry_response *resp = arg;
	size_t n = size * nmemb;
	if (resp->status == 200 && resp->blob)
		return depot_blob_write(resp->blob, data, n, &resp->write_err) < 0 ? 0 : n;
	size_t keep = n;
	if (resp->len + n > resp->max) {
		if (resp->status == 200) {
			resp->too_large = true;
			return 0; /* abort: a manifest or token this big is not one */
		}
		keep = resp->max - resp->len; /* an error page: its start is enough */
	}
	if (resp->len + keep + 1 > resp->cap) {
		size_t need = resp->len + keep + 1;
		resp->cap = need > 2 * resp->cap ? need : 2 * resp->cap;
		resp->body = xrealloc(resp->body, resp->cap);
	}
	memcpy(resp->body + resp->len, data, keep);
	resp->len += keep;
	resp->body[resp->len] = '\0';
	return n;
}

/* Turns a failed transfer into a message that says what to do; host names
 * the server the request went to. */
static int transfer_error(struct registry *r, CURLcode code, const char *host,
			  struct registry_response *resp, struct err **err)
{
	const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
	long os_errno = 0;
	curl_easy_getinfo(r->curl, CURLINFO_OS_ERRNO, &os_errno);
	if (code == CURLE_COULDNT_CONNECT)
		return err_set(err, 0, "cannot connect to %s (%s): is the registry running?", host,
			       os_errno ? strerror((int)os_errno) : detail);
	if (code == CURLE_COULDNT_RESOLVE_HOST)
		return err_set(err, 0,
			       "cannot find the host of %s (%s): check the registry name and the "
			       "network",
			       host, detail);
	if (code == CURLE_OPERATION_TIMEDOUT && strstr(detail, "SSL"))
		return err_set(err, 0,
			       "the TLS handshake with %s timed out (%s): if the registry speaks "
			       "plain HTTP, list it in container-registry-plain-http",
			       host, detail);
	if (code == CURLE_OPERATION_TIMEDOUT)
		return err_set(err, 0,
			       "%s did not answer in time (%s): check that the registry is "
			       "reachable, then try again",
			       host, detail);
	if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
	    code == CURLE_SSL_ISSUER_ERROR || code == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return err_set(err, 0,
			       "the TLS certificate of %s is not accepted (%s): if you trust this "
			       "registry, set accept-invalid-remote-container-tls-certs = true",
			       host, detail);
	if (code == CURLE_SSL_CONNECT_ERROR)
		return err_set(err, 0,
			       "the TLS handshake with %s failed (%s): if the registry speaks plain "
			       "HTTP, list it in container-registry-plain-http",
			       host, detail);
	if (code == CURLE_WRITE_ERROR && resp->write_err) {
		*err = resp->write_err;
		resp->write_err = NULL;
		return -1;
	}
	if (code == CURLE_WRITE_ERROR && resp->too_large)
		return err_set(err, 0,
			       "the answer of %s is larger than %zu bytes: this is not a registry "
			       "answer the client can use",
			       host, resp->max);
	return err_set(err, 0, "the request to %s failed (%s): check the registry and try again",
		       host, detail);
}

/* One GET of url. The body goes to resp (see struct registry_response). */
static int perform(struct registry *r, const char *url, const char *accept, bool with_token,
		   const char *host, struct registry_response *resp, struct err **err)
{
	struct curl_slist *headers = NULL;
	_cleanup_free_ char *accept_h = accept ? xasprintf("Accept: %s", accept) : NULL;
	_cleanup_free_ char *auth_h = with_token && r->token ?
					      xasprintf("Authorization: Bearer %s", r->token) :
					      NULL;
	if (accept_h)
		headers = curl_slist_append(headers, accept_h);
	if (auth_h)
		headers = curl_slist_append(headers, auth_h);
	r->errbuf[0] = '\0';
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(r->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->curl, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, resp);
	CURLcode code = curl_easy_perform(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (code != CURLE_OK)
		return transfer_error(r, code, host, resp, err);
	return 0;
}

/* ---- authentication ------------------------------------------------------ */

/* The value of parameter key in a "Bearer k1="v1",k2=v2" challenge. */
static char *challenge_param(const char *challenge, const char *key)
{
	size_t k = strlen(key);
	const char *p = challenge;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *eq = strchr(p, '=');
		if (!eq)
			return NULL;
		bool match = (size_t)(eq - p) == k && strncasecmp(p, key, k) == 0;
		const char *v = eq + 1, *end;
		if (*v == '"') {
			v++;
			end = strchr(v, '"');
			if (!end)
				return NULL;
			p = end + 1;
		} else {
			end = v + strcspn(v, ", ");
			p = end;
		}
		if (match)
			return xstrndup(v, (size_t)(end - v));
	}
	return NULL;
}

static char *escaped(struct registry *r, const char *s)
{
	char *e = curl_easy_escape(r->curl, s, 0);
	if (!e)
		abort();
	char *out = xstrdup(e);
	curl_free(e);
	return out;
}

static int token_from_json(struct registry *r, const struct registry_response *resp,
			   const char *realm, struct err **err)
{
	json_error_t je;
	json_t *doc = json_loadb(resp->body ? resp->body : "", resp->len, 0, &je);
	const char *tok = NULL;
	if (doc) {
		tok = json_string_value(json_object_get(doc, "token"));
		if (!tok || !*tok)
			tok = json_string_value(json_object_get(doc, "access_token"));
	}
	if (!tok || !*tok) {
		json_decref(doc);
		return err_set(err, 0,
			       "the token service %s sent no token (expected JSON with `token`): "
			       "check the registry's authentication setup",
			       realm);
	}
	free(r->token);
	r->token = xstrdup(tok);
	json_decref(doc);
	return 0;
}

/* Answers a 401's challenge by fetching an anonymous token. */
static int authenticate(struct registry *r, const char *challenge, struct err **err)
{
	if (!challenge)
		return err_set(err, 0,
			       "%s refused access (401) without saying how to authenticate: only "
			       "registries with no or anonymous authentication are supported",
			       r->hostport);
	if (strncasecmp(challenge, "Bearer ", 7) != 0)
		return err_set(err, 0,
			       "%s asks for a password (%.*s authentication): only registries with "
			       "no or anonymous authentication are supported",
			       r->hostport, (int)strcspn(challenge, " "), challenge);
	_cleanup_free_ char *realm = challenge_param(challenge + 7, "realm");
	_cleanup_free_ char *service = challenge_param(challenge + 7, "service");
	_cleanup_free_ char *scope = challenge_param(challenge + 7, "scope");
	if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0))
		return err_set(err, 0,
			       "%s sent an authentication challenge without an http(s) realm "
			       "(`%s`): the registry is misconfigured",
			       r->hostport, challenge);
	if (!scope)
		scope = xasprintf("repository:%s:pull", r->repository);
	_cleanup_free_ char *e_scope = escaped(r, scope);
	_cleanup_free_ char *e_service = service ? escaped(r, service) : NULL;
	char sep = strchr(realm, '?') ? '&' : '?';
	_cleanup_free_ char *url = xasprintf("%s%cscope=%s%s%s", realm, sep, e_scope,
					     e_service ? "&service=" : "",
					     e_service ? e_service : "");
	struct registry_response resp = { .max = TOKEN_MAX };
	int rc = perform(r, url, NULL, false, realm, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = err_set(err, 0,
			     "the token service %s answered %ld: only registries with no or "
			     "anonymous authentication are supported",
			     realm, resp.status);
	if (rc == 0)
		rc = token_from_json(r, &resp, realm, err);
	registry_response_reset(&resp);
	return rc;
}

/* GET with one retry after authenticating. */
int registry_request(struct registry *r, const char *url, const char *accept,
		     struct registry_response *resp, struct err **err)
{
	for (int attempt = 0;; attempt++) {
		registry_response_reset(resp);
		if (perform(r, url, accept, true, r->hostport, resp, err) < 0)
			return -1;
		if (resp->status != 401 || attempt > 0)
			return 0;
		if (authenticate(r, resp->authenticate, err) < 0)
			return -1;
	}
}

/* "CODE: message" of the first entry of a registry's error JSON, else the
 * start of the body. Heap string. */
static char *error_detail(const struct registry_response *resp)
{
	json_error_t je;
	json_t *doc = resp->body ? json_loadb(resp->body, resp->len, 0, &je) : NULL;
	json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *msg = json_string_value(json_object_get(first, "message"));
	char *out;
	if (code || msg)
		out = xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
	else if (resp->len)
		out = xasprintf("%.200s", resp->body);
	else
		out = xstrdup("no details");
	json_decref(doc);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return out;
}

int registry_status_error(const struct registry_response *resp, const char *what,
			  struct err **err)
{
	_cleanup_free_ char *detail = error_detail(resp);
	if (resp->status == 401)
		return err_set(err, 0,
			       "the registry refused access (401: %s): only registries with no or "
			       "anonymous authentication are supported",
			       detail);
	if (resp->status == 404 && strcmp(what, "manifest") == 0)
		return err_set(err, 0, "the registry answered 404 (manifest unknown): check the "
				       "name and tag");
	if (resp->status == 404)
		return err_set(err, 0,
			       "the registry answered 404 (blob unknown): the registry lacks a part "
			       "of this image; push the image again");
	return err_set(err, 0, "the registry answered %ld: %s", resp->status, detail);
}
