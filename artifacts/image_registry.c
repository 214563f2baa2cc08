/*
 * image_registry: the registry client's API: where to connect, manifests
 * and blobs, verified; the transport is image_registry_http.c. See
 * image_registry.h.
 */
#include "artifacts/image_registry.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/image_manifest.h"
#include "artifacts/image_registry_internal.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

#define CONNECT_TIMEOUT_S 10L
#define STALL_TIMEOUT_S 30L
#define MAX_REDIRECTS 10L

static bool is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "127.0.0.1") == 0 ||
	       strcmp(host, "::1") == 0;
}

bool registry_plain_http(const char *registry, const char *plain_http)
{
	_cleanup_free_ char *host = image_ref_host(registry);
	if (is_loopback(host))
		return true;
	for (const char *p = plain_http; p && *p;) {
		p += strspn(p, " \t,");
		size_t n = strcspn(p, ",");
		size_t m = n;
		while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m > 0) {
			_cleanup_free_ char *item = xstrndup(p, m);
			_cleanup_free_ char *item_host = image_ref_host(item);
			if (strcmp(item, registry) == 0 ||
			    (image_ref_port(item, -1) == -1 && strcmp(item_host, host) == 0))
				return true;
		}
		p += n;
	}
	return false;
}

int registry_open(const struct image_ref *ref, const struct registry_options *o,
		  struct registry **out, struct err **err)
{
	bool plain = registry_plain_http(ref->api_host, o->plain_http) ||
		     registry_plain_http(ref->registry, o->plain_http);
	CURL *curl = curl_easy_init();
	if (!curl)
		return err_set(err, 0, "cannot start libcurl (out of memory?)");
	struct registry *r = xcalloc(1, sizeof(*r));
	r->curl = curl;
	r->base = xasprintf("%s://%s/v2/%s", plain ? "http" : "https", ref->api_host,
			    ref->repository);
	r->hostport = image_ref_port(ref->api_host, -1) == -1 ?
			      xasprintf("%s:%d", ref->api_host, plain ? 80 : 443) :
			      xstrdup(ref->api_host);
	r->repository = xstrdup(ref->repository);
	/* Loopback registries are never reached through a proxy. */
	const char *np = getenv("no_proxy") ? getenv("no_proxy") : getenv("NO_PROXY");
	r->noproxy = xasprintf("%s%slocalhost,127.0.0.1,::1", np ? np : "", np && *np ? "," : "");

	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "maelstrom-c");
	curl_easy_setopt(curl, CURLOPT_NOPROXY, r->noproxy);
	if (o->accept_invalid_tls) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	*out = r;
	return 0;
}

void registry_free(struct registry *r)
{
	if (!r)
		return;
	curl_easy_cleanup(r->curl);
	free(r->base);
	free(r->hostport);
	free(r->repository);
	free(r->token);
	free(r->noproxy);
	free(r);
}

/* The media type without parameters ("type/sub; charset=x" -> "type/sub"). */
static char *media_type_of(const char *content_type)
{
	if (!content_type)
		return NULL;
	size_t n = strcspn(content_type, "; \t");
	return n ? xstrndup(content_type, n) : NULL;
}

static int check_manifest_digest(const struct registry_response *resp, const char *reference,
				 const char *got, struct err **err)
{
	const char *said = resp->docker_digest;
	if (said && strncmp(said, "sha256:", 7) == 0 && strcmp(said, got) != 0)
		return err_set(err, 0,
			       "manifest: digest mismatch (the registry says %.19s.., the content "
			       "hashes to %.19s..): the registry sent a corrupt manifest; try again",
			       said, got);
	if (strncmp(reference, "sha256:", 7) == 0 && strcmp(reference, got) != 0)
		return err_set(err, 0,
			       "manifest %.19s..: digest mismatch (got %.19s..): the registry "
			       "sent a corrupt manifest; try again",
			       reference, got);
	return 0;
}

int registry_get_manifest(struct registry *r, const char *reference, struct registry_manifest *out,
			  struct err **err)
{
	memset(out, 0, sizeof(*out));
	_cleanup_free_ char *url = xasprintf("%s/manifests/%s", r->base, reference);
	struct registry_response resp = { .max = MANIFEST_MAX };
	int rc = registry_request(r, url, IMAGE_MANIFEST_ACCEPT, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = registry_status_error(&resp, "manifest", err);
	char got[IMAGE_DIGEST_SIZE];
	if (rc == 0) {
		image_sha256_digest(resp.body ? resp.body : "", resp.len, got);
		rc = check_manifest_digest(&resp, reference, got, err);
	}
	if (rc == 0) {
		out->body = resp.body ? resp.body : xstrdup("");
		out->len = resp.len;
		out->media_type = media_type_of(resp.content_type);
		out->digest = xstrdup(got);
		resp.body = NULL;
	}
	registry_response_reset(&resp);
	return rc;
}

void registry_manifest_release(struct registry_manifest *m)
{
	free(m->body);
	free(m->media_type);
	free(m->digest);
	memset(m, 0, sizeof(*m));
}

int registry_get_blob(struct registry *r, const char *digest, const struct image_depot *d,
		      struct err **err)
{
	_cleanup_free_ char *url = xasprintf("%s/blobs/%s", r->base, digest);
	struct depot_blob w;
	if (depot_blob_begin(d, &w, err) < 0)
		return -1;
	struct registry_response resp = { .max = ERROR_BODY_MAX, .blob = &w };
	int rc = registry_request(r, url, NULL, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = registry_status_error(&resp, "blob", err);
	registry_response_reset(&resp);
	if (rc < 0) {
		depot_blob_abort(&w);
		return err_wrap(err, "blob %.19s..", digest);
	}
	return depot_blob_commit(&w, digest, err);
}
