/*
 * worker_fetch.c: layers the store lacks, fetched from the broker on
 * ARTIFACT_FETCH connections (net/artifact_xfer.h), one fetch per digest
 * however many jobs wait for it.
 *
 * The fetcher is made when first needed and dropped with its connections
 * when the session with the broker ends: a broker that went away takes its
 * fetch connections along, and the next session starts afresh.
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/artifact_xfer.h"
#include "net/worker/worker_internal.h"

static struct wfetch *fetch_find(const struct worker *w, const struct digest *d)
{
	for (struct wfetch *f = w->fetches; f; f = f->next)
		if (digest_equal(&f->digest, d))
			return f;
	return NULL;
}

static void fetch_unlink(struct worker *w, struct wfetch *f)
{
	for (struct wfetch **p = &w->fetches; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			return;
		}
	}
}

static void on_fetch_done(void *arg, const struct digest *d, bool ok, const char *message)
{
	struct wfetch *f = arg;
	struct worker *w = f->w;
	struct digest digest = *d;
	fetch_unlink(w, f);
	free(f);
	if (ok) {
		/* The fetcher committed it through its own handle on our store;
		 * make sure the index has it. */
		struct err *err = NULL;
		if (store_refresh(w->store, &digest, &err) < 0 || !store_has(w->store, &digest)) {
			char *why = strdup(err ? err_msg(err) : "the artifact is not in the store "
				"after its fetch");
			err_free(&err);
			worker_on_fetched(w, &digest, why);
			free(why);
			return;
		}
	}
	worker_on_fetched(w, &digest, ok ? NULL : (message && *message ? message : "unknown error"));
}

int worker_fetch_start(struct worker *w, const struct digest *d, struct err **err)
{
	if (fetch_find(w, d))
		return 0;
	if (!w->fetcher) {
		w->fetcher = artifact_fetcher_new(w->r, w->broker, w->store, 0,
						  w->max_artifact_size, err);
		if (!w->fetcher)
			return -1;
	}
	struct wfetch *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->w = w;
	f->digest = *d;
	f->op = artifact_fetcher_get(w->fetcher, d, on_fetch_done, f);
	f->next = w->fetches;
	w->fetches = f;
	return 0;
}

bool worker_fetch_pending(const struct worker *w, const struct digest *d)
{
	return fetch_find(w, d) != NULL;
}

void worker_fetch_cancel_all(struct worker *w)
{
	while (w->fetches) {
		struct wfetch *f = w->fetches;
		w->fetches = f->next;
		artifact_fetch_cancel(f->op);
		free(f);
	}
	artifact_fetcher_free(w->fetcher);
	w->fetcher = NULL;
}
