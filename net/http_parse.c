/* The incremental HTTP/1.x request parser (see net/http.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hex.h"
#include "net/http.h"

void http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->in);
	buf_init(&p->head);
}

void http_parser_release(struct http_parser *p)
{
	buf_release(&p->in);
	buf_release(&p->head);
	free(p->headers);
	http_parser_init(p);
}

void http_parser_feed(struct http_parser *p, const void *data, size_t len)
{
	buf_append(&p->in, data, len);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* Cuts the next line out of *cur (which the head's final empty line bounds),
 * NUL-terminating it without its CR LF or LF. A CR anywhere else makes the
 * line invalid: returns NULL. */
static char *take_line(char **cur)
{
	char *line = *cur;
	char *nl = strchr(line, '\n');
	/* The head always ends with a newline, so nl is never NULL here. */
	*cur = nl + 1;
	if (nl > line && nl[-1] == '\r')
		nl--;
	*nl = '\0';
	if (strchr(line, '\r'))
		return NULL;
	return line;
}

/* Decodes %XX escapes in place. Fails on a malformed escape or a %00. */
static bool percent_decode(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = hex_digit_value(r[1]), lo = hi < 0 ? -1 : hex_digit_value(r[2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;
		*w++ = (char)(hi * 16 + lo);
		r += 2;
	}
	*w = '\0';
	return true;
}

/* Splits the target (copied to the end of the head buffer, whose room was
 * reserved) into path and query. */
static int split_target(struct http_parser *p, const char *target)
{
	size_t n = strlen(target);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)target[i];
		if (ch <= 0x20 || ch >= 0x7f || ch == '#')
			return 400;
	}
	char *copy = p->head.data + p->head.len;
	buf_append(&p->head, target, n + 1); /* within the reserved room: no move */
	char *path = copy;
	if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0) {
		/* absolute-form: drop the scheme and authority */
		path = strchr(path, ':') + 3;
		char *slash = strpbrk(path, "/?");
		if (!slash || *slash == '?') {
			/* "http://host" or "http://host?q": the path is "/" */
			p->req.query = slash ? slash + 1 : "";
			p->req.path = "/";
			return 0;
		}
		path = slash;
	} else if (path[0] != '/') {
		return 400;
	}
	char *q = strchr(path, '?');
	if (q) {
		*q = '\0';
		p->req.query = q + 1;
	} else {
		p->req.query = "";
	}
	if (!percent_decode(path))
		return 400;
	p->req.path = path;
	return 0;
}

/* Parses "METHOD SP TARGET SP HTTP/1.x". */
static int parse_request_line(struct http_parser *p, char *line)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1)
		return 400;
	*sp1 = '\0';
	char *target = sp1 + 1;
	char *sp2 = strchr(target, ' ');
	if (!sp2)
		return 400;
	*sp2 = '\0';
	const char *version = sp2 + 1;
	if (!is_token(line) || !*target)
		return 400;
	if (strncmp(version, "HTTP/", 5) != 0 || version[5] < '0' || version[5] > '9' ||
	    version[6] != '.' || version[7] < '0' || version[7] > '9' || version[8])
		return 400;
	if (version[5] != '1')
		return 505;
	p->req.method = line;
	p->req.target = target;
	p->req.minor_version = version[7] == '0' ? 0 : 1;
	return split_target(p, target);
}

/* Parses "Name: value" into the header table. */
static int parse_header_line(struct http_parser *p, char *line, size_t *n)
{
	if (line[0] == ' ' || line[0] == '\t')
		return 400; /* obsolete line folding */
	char *colon = strchr(line, ':');
	if (!colon)
		return 400;
	*colon = '\0';
	if (!is_token(line))
		return 400; /* also refuses whitespace before the colon */
	char *value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	char *end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	for (const char *v = value; *v; v++) {
		unsigned char ch = (unsigned char)*v;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 400;
	}
	if (*n == p->cap_headers) {
		size_t cap = p->cap_headers ? p->cap_headers * 2 : 16;
		struct http_header *h = reallocarray(p->headers, cap, sizeof(*h));
		if (!h)
			abort(); /* out of memory */
		p->headers = h;
		p->cap_headers = cap;
	}
	p->headers[(*n)++] = (struct http_header){ line, value };
	return 0;
}

/* Content-Length: digits only; repeated headers must agree. */
static int parse_content_length(const char *v, bool *seen, uint64_t *out)
{
	size_t len = strlen(v);
	if (len == 0 || len > 18 || strspn(v, "0123456789") != len)
		return 400;
	uint64_t n = strtoull(v, NULL, 10);
	if (*seen && n != *out)
		return 400;
	*seen = true;
	*out = n;
	return 0;
}

/* Looks through a Connection header's comma-separated options. */
static void parse_connection(const char *v, bool *close, bool *keep_alive)
{
	while (*v) {
		v += strspn(v, " \t,");
		size_t n = strcspn(v, " \t,");
		if (n == 5 && strncasecmp(v, "close", 5) == 0)
			*close = true;
		else if (n == 10 && strncasecmp(v, "keep-alive", 10) == 0)
			*keep_alive = true;
		v += n;
	}
}

/* The headers that shape the framing and the connection. */
static int interpret_headers(struct http_parser *p)
{
	bool close = false, keep_alive = false, have_length = false;
	size_t hosts = 0;
	for (size_t i = 0; i < p->req.n_headers; i++) {
		const struct http_header *h = &p->req.headers[i];
		if (strcasecmp(h->name, "Content-Length") == 0) {
			int st = parse_content_length(h->value, &have_length, &p->req.content_length);
			if (st)
				return st;
		} else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
			return 501; /* no request bodies of unknown length */
		} else if (strcasecmp(h->name, "Connection") == 0) {
			parse_connection(h->value, &close, &keep_alive);
		} else if (strcasecmp(h->name, "Host") == 0) {
			hosts++;
		}
	}
	if (hosts > 1 || (p->req.minor_version == 1 && hosts == 0))
		return 400;
	if (p->req.minor_version == 1)
		p->req.keep_alive = !close;
	else
		p->req.keep_alive = keep_alive && !close;
	return 0;
}

/* Splits the head held in p->head into p->req. Returns 0 or an error status. */
static int parse_head(struct http_parser *p)
{
	/* Room for a copy of the target, so the splitting never moves the buffer. */
	buf_reserve(&p->head, p->head.len + 1);
	memset(&p->req, 0, sizeof(p->req));
	char *cur = p->head.data;
	if (memchr(cur, '\0', p->head.len))
		return 400;
	char *line = take_line(&cur);
	if (!line)
		return 400;
	int st = parse_request_line(p, line);
	if (st)
		return st;
	size_t n = 0;
	for (;;) {
		line = take_line(&cur);
		if (!line)
			return 400;
		if (!*line)
			break;
		st = parse_header_line(p, line, &n);
		if (st)
			return st;
	}
	p->req.headers = p->headers;
	p->req.n_headers = n;
	return interpret_headers(p);
}

static int fail(struct http_parser *p, int status, int *out)
{
	p->error = status;
	*out = status;
	return -1;
}

/* Drops the body of the previous request and empty lines before the next. */
static bool skip_filler(struct http_parser *p)
{
	if (p->body_left) {
		size_t n = p->in.len < p->body_left ? p->in.len : (size_t)p->body_left;
		buf_consume(&p->in, n);
		p->body_left -= n;
		if (p->body_left)
			return false;
	}
	size_t skip = 0;
	const char *d = p->in.data;
	while (skip < p->in.len) {
		if (d[skip] == '\n')
			skip++;
		else if (d[skip] == '\r' && skip + 1 < p->in.len && d[skip + 1] == '\n')
			skip += 2;
		else
			break;
	}
	if (skip) {
		buf_consume(&p->in, skip);
		p->scanned = 0;
	}
	return true;
}

/* The length of the head (through its empty line) at the start of p->in,
 * or 0 when it is not complete yet. */
static size_t find_head_end(struct http_parser *p)
{
	const char *d = p->in.data;
	size_t len = p->in.len, i;
	for (i = p->scanned; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i + 1 >= len)
			break;
		if (d[i + 1] == '\n') {
			p->scanned = 0;
			return i + 2;
		}
		if (d[i + 1] == '\r') {
			if (i + 2 >= len)
				break;
			if (d[i + 2] == '\n') {
				p->scanned = 0;
				return i + 3;
			}
		}
	}
	p->scanned = i;
	return 0;
}

/* Whether the bytes buffered cannot be the start of a request line, whose
 * first word is a method token. Such input (another protocol speaking to
 * the wrong port) is refused at once instead of waiting for a head that
 * never comes. */
static bool bad_start(const struct http_parser *p)
{
	for (size_t i = 0; i < p->in.len; i++) {
		unsigned char ch = (unsigned char)p->in.data[i];
		if (ch == ' ')
			return i == 0;
		if (ch == '\r' && i == 0 && p->in.len == 1)
			return false; /* perhaps an empty line's CR LF, cut in two */
		if (!is_tchar(ch))
			return true;
	}
	return false;
}

int http_parser_next(struct http_parser *p, const struct http_request **req, int *status)
{
	if (p->error)
		return fail(p, p->error, status);
	if (!skip_filler(p))
		return 0;
	size_t end = find_head_end(p);
	if (!end) {
		if (bad_start(p))
			return fail(p, 400, status);
		return p->in.len > HTTP_MAX_HEAD ? fail(p, 431, status) : 0;
	}
	if (end > HTTP_MAX_HEAD)
		return fail(p, 431, status);
	buf_reset(&p->head);
	buf_append(&p->head, p->in.data, end);
	buf_consume(&p->in, end);
	int st = parse_head(p);
	if (st)
		return fail(p, st, status);
	p->body_left = p->req.content_length;
	*req = &p->req;
	return 1;
}
