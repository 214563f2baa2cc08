/* status: the status document, built with jansson. */
#include "net/broker/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static json_t *number(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? (json_int_t)INT64_MAX : (json_int_t)v);
}

/* Names come from peers: text that is not UTF-8 is shown with '?' for each
 * byte outside ASCII rather than dropped. */
static json_t *text(const char *s)
{
	if (!s)
		s = "";
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = strdup(s);
	if (!copy)
		abort();
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static void set(json_t *obj, const char *key, json_t *value)
{
	if (!value || json_object_set_new(obj, key, value) < 0)
		abort();
}

json_t *status_document(const struct status_snapshot *s)
{
	json_t *root = json_object();
	json_t *workers = json_array();
	if (!root || !workers)
		abort();
	for (size_t i = 0; i < s->n_workers; i++) {
		const struct status_worker *w = &s->workers[i];
		json_t *o = json_object();
		if (!o)
			abort();
		set(o, "name", text(w->name));
		set(o, "address", text(w->address));
		set(o, "slots", number(w->slots));
		set(o, "running", number(w->running));
		if (json_array_append_new(workers, o) < 0)
			abort();
	}
	set(root, "workers", workers);
	set(root, "clients", number(s->clients));

	json_t *jobs = json_object();
	if (!jobs)
		abort();
	set(jobs, "waiting_for_artifacts", number(s->waiting_for_artifacts));
	set(jobs, "pending", number(s->pending));
	set(jobs, "running", number(s->running));
	set(jobs, "completed", number(s->completed));
	set(root, "jobs", jobs);

	json_t *cache = json_object();
	if (!cache)
		abort();
	set(cache, "bytes_used", number(s->bytes_used));
	set(cache, "cache_size", number(s->cache_size));
	set(root, "cache", cache);

	json_t *stats = json_object();
	if (!stats)
		abort();
	set(stats, "jobs_submitted", number(s->jobs_submitted));
	set(stats, "jobs_completed", number(s->jobs_completed));
	set(stats, "artifacts_received_bytes", number(s->artifacts_received_bytes));
	set(stats, "uptime_s", number(s->uptime_s));
	set(root, "stats", stats);
	return root;
}

char *status_json(const struct status_snapshot *s)
{
	json_t *root = status_document(s);
	char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!out)
		abort();
	return out;
}
