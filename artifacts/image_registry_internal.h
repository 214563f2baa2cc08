/*
 * image_registry_internal: what the registry client's API
 * (image_registry.c) and its transport (image_registry_http.c: requests on
 * the libcurl handle, token authentication, answers turned into errors)
 * share.
 */
#ifndef ARTIFACTS_IMAGE_REGISTRY_INTERNAL_H
#define ARTIFACTS_IMAGE_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "artifacts/image_depot.h"
#include "core/err.h"

#define MANIFEST_MAX (4u << 20)    /* registries refuse bigger manifests too */
#define TOKEN_MAX (1u << 20)
#define ERROR_BODY_MAX (64u << 10) /* kept of an error answer's body */

struct registry {
	CURL *curl;
	char *base;        /* "https://HOST[:PORT]/v2/REPOSITORY" */
	char *hostport;    /* "HOST:PORT" for messages */
	char *repository;
	char *token;       /* bearer token, once obtained */
	char *noproxy;
	char errbuf[CURL_ERROR_SIZE];
};

/* One request's answer: the headers of the last response, and its body,
 * either in memory or (status 200 with a blob writer) in the depot. */
struct registry_response {
	long status;
	char *content_type;
	char *docker_digest;
	char *authenticate;
	char *body;
	size_t len, cap, max;
	bool too_large;        /* a 200 body passed max */
	struct depot_blob *blob;
	struct err *write_err; /* why the blob write failed */
};

/* Frees what resp holds and forgets the last answer (the blob writer and
 * max stay). */
void registry_response_reset(struct registry_response *resp);

/* GETs url (Accept: accept, unless NULL) with the token if there is one;
 * a 401 is answered by fetching a token (see image_registry.h) and sending
 * the request once more. 0 with resp->status set, whatever the status, or
 * -1 when no answer came (the error says why and what to do). */
int registry_request(struct registry *r, const char *url, const char *accept,
		     struct registry_response *resp, struct err **err);

/* The error for an answer that is not 200; what is "manifest" or "blob". */
int registry_status_error(const struct registry_response *resp, const char *what,
			  struct err **err);

#endif
