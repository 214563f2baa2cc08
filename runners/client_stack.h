/*
 * client_stack: the client (runners/client.h) and everything it stands on,
 * built the same way by every program that runs jobs: a layer builder
 * over the artifact store, a local worker, a broker session when the
 * `broker` configuration value is set, and the client itself.
 *
 *     struct client_stack s = {0};
 *     if (store_open(&s.store, dir, size, err) < 0 ||
 *         client_stack_open(&s, r, cfg, project_dir, err) < 0)
 *             ... report ...
 *     ... client_submit(s.client, ...) ...
 *     client_stack_release(&s);
 *
 * The caller opens the store (where it lives and what a failure says
 * differ per program) into `store`; from then on the stack owns it. The
 * configuration values read are `slots`, `inline-limit`, `broker`, and for
 * container images `container-image-depot-root`,
 * `accept-invalid-remote-container-tls-certs` and
 * `container-registry-plain-http` (every program using the stack must
 * list them).
 */
#ifndef RUNNERS_CLIENT_STACK_H
#define RUNNERS_CLIENT_STACK_H

#include "artifacts/layer_build.h"
#include "artifacts/store.h"
#include "container/local_worker.h"
#include "core/config.h"
#include "core/err.h"
#include "core/reactor.h"
#include "net/cluster_client.h"
#include "runners/client.h"

struct client_stack {
	struct store *store;             /* set by the caller; owned */
	struct layer_builder *builder;
	struct local_worker *worker;
	struct cluster_client *cluster;  /* NULL: standalone */
	struct client *client;
};

/* Builds the builder, the worker, the broker session (when `broker` is
 * set and not empty) and the client over s->store, for layers and bind
 * mounts relative to project_dir. Returns 0, or -1 with *err set (a bad
 * broker address names where it was configured); either way
 * client_stack_release frees what was built. */
int client_stack_open(struct client_stack *s, struct reactor *r, const struct config *cfg,
		      const char *project_dir, struct err **err);

/* Frees the client first, then what it stood on; trims the store's cache
 * to its target size (a failure is only logged) before closing it. Leaves
 * *s zeroed. Safe on a zeroed or partly built stack. */
void client_stack_release(struct client_stack *s);

#endif
