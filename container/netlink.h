/*
 * netlink: the one rtnetlink request a container needs, bringing a network
 * interface up, without the `ip` command.
 *
 * Safe to call in a freshly cloned child that shares memory with its parent
 * (vfork style): no allocation, no locks, buffers on the stack, errors
 * returned as -errno rather than through struct err.
 */
#ifndef CONTAINER_NETLINK_H
#define CONTAINER_NETLINK_H

/* In a new network namespace the loopback device is always interface 1. */
#define NETLINK_LOOPBACK_IFINDEX 1

/* Sets IFF_UP on interface `ifindex` of the caller's network namespace
 * (RTM_NEWLINK with an acknowledgement). Needs CAP_NET_ADMIN over the
 * namespace. Returns 0, or -errno (from the socket calls or the kernel's
 * answer). */
int netlink_link_up(int ifindex);

#endif
