/*
 * addr: network address text, both ways.
 *
 *   - addr_split parses what users write for the broker: "host:port",
 *     "v4.addr:port" or "[v6:addr]:port". The port must be a number from 1
 *     to 65535; the host may be a name, which getaddrinfo resolves later.
 *   - addr_format writes a socket address for logs: "10.1.0.2:41234",
 *     "[fd00::2]:41234"; IPv4-mapped IPv6 addresses (from a dual-stack
 *     listener) are shown as plain IPv4.
 *
 * Nothing here touches the network or blocks.
 */
#ifndef NET_ADDR_H
#define NET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/err.h"

/* Room for any addr_format result, NUL included. */
#define ADDR_TEXT_MAX 64

/* Splits `address` into host (brackets removed) and port, both heap strings
 * the caller frees. Errors name the address and say what was expected:
 * "broker address `foo`: expected HOST:PORT (e.g. localhost:9000 or
 * [::1]:9000)". */
int addr_split(const char *address, char **host, char **port, struct err **err);

/* Formats sa into out (at least ADDR_TEXT_MAX bytes). Unknown families
 * format as "unix socket" or "unknown address"; never fails. */
void addr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t size);

#endif
