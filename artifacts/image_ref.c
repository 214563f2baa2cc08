/*
 * image_ref: parsing and checking docker:// references; see image_ref.h.
 */
#include "artifacts/image_ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/image_manifest.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* One repository component: [a-z0-9]+ ( ( '.' | '_' | '__' | '-'+ ) [a-z0-9]+ )* */
static bool component_valid(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (!is_lower_alnum(s[i]))
			return false;
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		/* a separator, then more alphanumerics */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n)
			return false;
	}
	return false; /* empty */
}

static bool repository_valid(const char *repo)
{
	const char *p = repo;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (!component_valid(p, n))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* A DNS-ish label: alphanumerics with inner '-'. */
static bool label_valid(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* HOST[:PORT], HOST being dot-separated labels or "[IPv6]". */
static bool registry_valid(const char *reg)
{
	const char *port;
	if (reg[0] == '[') {
		const char *close = strchr(reg, ']');
		if (!close || close == reg + 1)
			return false;
		for (const char *p = reg + 1; p < close; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
				return false;
		port = close + 1;
		if (*port != '\0' && *port != ':')
			return false;
	} else {
		port = strchr(reg, ':');
		const char *end = port ? port : reg + strlen(reg);
		const char *p = reg;
		for (;;) {
			const char *dot = memchr(p, '.', (size_t)(end - p));
			const char *lend = dot ? dot : end;
			if (!label_valid(p, (size_t)(lend - p)))
				return false;
			if (!dot)
				break;
			p = dot + 1;
		}
		if (!port)
			return true;
	}
	if (*port == '\0')
		return true;
	port++;
	size_t n = strlen(port);
	if (n == 0 || n > 5 || strspn(port, "0123456789") != n)
		return false;
	long v = strtol(port, NULL, 10);
	return v >= 1 && v <= 65535;
}

static bool tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > TAG_MAX_LEN || tag[0] == '.' || tag[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(tag[i]) && tag[i] != '_' && tag[i] != '.' && tag[i] != '-')
			return false;
	return true;
}

static char *lowercase(const char *s)
{
	char *out = xstrdup(s);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/* Splits the NAME part into registry and repository (both heap). */
static void split_name(const char *name, char **registry, char **repository)
{
	const char *slash = strchr(name, '/');
	if (slash) {
		size_t n = (size_t)(slash - name);
		bool host = memchr(name, '.', n) || memchr(name, ':', n) ||
			    (n == strlen("localhost") && memcmp(name, "localhost", n) == 0);
		if (host) {
			*registry = xstrndup(name, n);
			*repository = xstrdup(slash + 1);
			if (strcmp(*registry, "index.docker.io") == 0) {
				free(*registry);
				*registry = xstrdup(DOCKER_HUB);
			}
		} else {
			*registry = xstrdup(DOCKER_HUB);
			*repository = xstrdup(name);
		}
	} else {
		*registry = xstrdup(DOCKER_HUB);
		*repository = xstrdup(name);
	}
	if (strcmp(*registry, DOCKER_HUB) == 0 && !strchr(*repository, '/')) {
		char *full = xasprintf("library/%s", *repository);
		free(*repository);
		*repository = full;
	}
}

static int check_parts(const struct image_ref *r, struct err **err)
{
	if (!registry_valid(r->registry))
		return err_set(err, 0,
			       "registry `%s` is not valid: write HOST or HOST:PORT (letters, "
			       "digits, '-' and '.', a port from 1 to 65535, IPv6 addresses in "
			       "brackets)",
			       r->registry);
	if (!repository_valid(r->repository)) {
		_cleanup_free_ char *lower = lowercase(r->repository);
		if (strcmp(lower, r->repository) != 0 && repository_valid(lower))
			return err_set(err, 0, "repository name `%s` must be lowercase: write `%s`",
				       r->repository, lower);
		return err_set(err, 0,
			       "repository name `%s` is not valid: each '/'-separated component is "
			       "lowercase letters and digits, joined by '.', '_', '__' or '-'",
			       r->repository);
	}
	if (r->tag && !tag_valid(r->tag))
		return err_set(err, 0,
			       "tag `%s` is not valid: use 1 to %d letters, digits, '_', '.' or "
			       "'-', not starting with '.' or '-'",
			       r->tag, TAG_MAX_LEN);
	if (r->digest && !image_digest_valid(r->digest))
		return err_set(err, 0,
			       "digest `%s` is not valid: write `sha256:` followed by 64 lowercase "
			       "hex digits",
			       r->digest);
	return 0;
}

int image_ref_parse(const char *text, struct image_ref *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (!*text)
		return err_set(err, 0,
			       "the image reference is empty: write NAME[:TAG] or NAME@DIGEST");

	const char *at = strchr(text, '@');
	_cleanup_free_ char *rest = at ? xstrndup(text, (size_t)(at - text)) : xstrdup(text);
	struct image_ref r = { 0 };
	if (at)
		r.digest = xstrdup(at + 1);
	char *slash = strrchr(rest, '/');
	char *colon = strrchr(rest, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		r.tag = xstrdup(colon + 1);
	} else if (!at) {
		r.tag = xstrdup("latest");
	}
	if (!*rest) {
		image_ref_release(&r);
		return err_set(err, 0, "the image reference `%s` has no name: write NAME[:TAG]",
			       text);
	}
	if (strlen(rest) > NAME_MAX_LEN) {
		image_ref_release(&r);
		return err_set(err, 0, "the image name is longer than %d characters", NAME_MAX_LEN);
	}
	split_name(rest, &r.registry, &r.repository);
	if (check_parts(&r, err) < 0) {
		image_ref_release(&r);
		return -1;
	}
	r.api_host = xstrdup(strcmp(r.registry, DOCKER_HUB) == 0 ? DOCKER_HUB_API : r.registry);
	*out = r;
	return 0;
}

void image_ref_release(struct image_ref *r)
{
	free(r->registry);
	free(r->api_host);
	free(r->repository);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

char *image_ref_canonical(const struct image_ref *r)
{
	return xasprintf("docker://%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "",
			 r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *image_ref_host(const char *registry)
{
	if (registry[0] == '[') {
		const char *close = strchr(registry, ']');
		if (close)
			return xstrndup(registry + 1, (size_t)(close - registry - 1));
		return xstrdup(registry);
	}
	const char *colon = strchr(registry, ':');
	return colon ? xstrndup(registry, (size_t)(colon - registry)) : xstrdup(registry);
}

int image_ref_port(const char *registry, int default_port)
{
	const char *p = registry;
	if (p[0] == '[') {
		p = strchr(p, ']');
		if (!p)
			return default_port;
	}
	const char *colon = strchr(p, ':');
	if (!colon || !colon[1])
		return default_port;
	return atoi(colon + 1);
}
