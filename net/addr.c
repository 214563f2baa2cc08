/* addr.c: parsing "host:port" and formatting socket addresses. See net/addr.h. */
#include "net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXAMPLES "e.g. localhost:9000 or [::1]:9000"

static int bad_address(struct err **err, const char *address, const char *what)
{
	return err_set(err, 0, "broker address `%s`: %s", address, what);
}

static char *dup_range(const char *s, size_t n)
{
	char *out = strndup(s, n);
	if (!out)
		abort(); /* out of memory */
	return out;
}

int addr_split(const char *address, char **host, char **port, struct err **err)
{
	*host = *port = NULL;
	const char *host_start, *host_end, *rest;

	if (address[0] == '[') {
		/* "[v6]:port" */
		host_start = address + 1;
		host_end = strchr(host_start, ']');
		if (!host_end)
			return bad_address(err, address, "missing `]` after the IPv6 address (" EXAMPLES ")");
		rest = host_end + 1;
		if (*rest != ':')
			return bad_address(err, address, "expected `:PORT` after `]` (" EXAMPLES ")");
		rest++;
	} else {
		const char *colon = strrchr(address, ':');
		if (!colon)
			return bad_address(err, address, "expected HOST:PORT (" EXAMPLES ")");
		if (memchr(address, ':', (size_t)(colon - address)))
			return bad_address(err, address,
					   "expected HOST:PORT; write IPv6 addresses in brackets, "
					   "as in [::1]:9000");
		host_start = address;
		host_end = colon;
		rest = colon + 1;
	}
	if (host_end == host_start)
		return bad_address(err, address, "expected HOST:PORT, the host is empty (" EXAMPLES ")");
	if (*rest == '\0')
		return bad_address(err, address, "expected HOST:PORT, the port is empty (" EXAMPLES ")");

	unsigned long value = 0;
	for (const char *p = rest; *p; p++) {
		if (*p < '0' || *p > '9' || value > 65535) {
			value = 0;
			break;
		}
		value = value * 10 + (unsigned long)(*p - '0');
	}
	if (value < 1 || value > 65535) {
		err_set(err, 0, "broker address `%s`: port `%s` is not a number from 1 to 65535",
			address, rest);
		return -1;
	}
	*host = dup_range(host_start, (size_t)(host_end - host_start));
	*port = dup_range(rest, strlen(rest));
	return 0;
}

void addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, size, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(out, size, "%s:%u", ip, ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			snprintf(out, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
		}
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(out, size, "unix socket");
	} else {
		snprintf(out, size, "unknown address");
	}
}
