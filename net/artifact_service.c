/*
 * artifact_service: the broker's side of artifact connections: the list of
 * adopted conns (receivers and servers) and its lifetime.
 */
#include "net/artifact_xfer.h"

#include <stdlib.h>

#include "core/list.h"
#include "net/artifact_xfer_internal.h"

struct artifact_service *artifact_service_new(struct reactor *r, struct store *store,
					      uint64_t max_size, artifact_stored_cb *on_stored,
					      void *arg)
{
	struct artifact_service *svc = calloc(1, sizeof(*svc));
	if (!svc)
		abort();
	svc->r = r;
	svc->store = store;
	svc->limit = xfer_limit(max_size);
	svc->on_stored = on_stored;
	svc->arg = arg;
	return svc;
}

void svc_peer_attach(struct artifact_service *svc, struct svc_peer *p, struct conn *c,
		     enum svc_peer_kind kind, const struct conn_ops *ops, void *arg)
{
	p->route = (struct conn_route){ ops, arg };
	p->svc = svc;
	p->c = c;
	p->kind = kind;
	DLIST_PUSH(svc->peers, p);
	svc->st.active++;
	conn_set_arg(c, &p->route);
}

void svc_peer_detach(struct svc_peer *p)
{
	DLIST_REMOVE(p->svc->peers, p);
	p->svc->st.active--;
}

void artifact_service_free(struct artifact_service *svc)
{
	if (!svc)
		return;
	while (svc->peers) {
		struct svc_peer *p = svc->peers;
		svc_peer_detach(p);
		conn_set_arg(p->c, NULL);
		conn_close(p->c, false, "the broker's artifact service is shutting down");
		switch (p->kind) {
		case PEER_UPLOAD:
			receiver_destroy(p);
			break;
		case PEER_FETCH:
			server_destroy(p);
			break;
		}
	}
	free(svc);
}

void artifact_service_stats(const struct artifact_service *svc, struct artifact_xfer_stats *out)
{
	*out = svc->st;
}
