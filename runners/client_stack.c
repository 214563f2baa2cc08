#include "runners/client_stack.h"

#include <string.h>

#include "core/log.h"

int client_stack_open(struct client_stack *s, struct reactor *r, const struct config *cfg,
		      const char *project_dir, struct err **err)
{
	if (layer_builder_new(&s->builder, s->store, project_dir, err) < 0)
		return -1;
	struct executor_config ec = {
		.slots = config_is_set(cfg, "slots") ? (unsigned)config_get_number(cfg, "slots") : 0,
		.inline_limit = config_get_size(cfg, "inline-limit"),
	};
	if (local_worker_new(&s->worker, r, s->store, &ec, err) < 0)
		return -1;
	const char *broker = config_get_string(cfg, "broker");
	if (broker && *broker && cluster_client_new(&s->cluster, r, broker, s->store, err) < 0)
		return err_wrap(err, "%s", config_source(cfg, "broker"));
	if (client_new(&s->client, r, s->store, s->builder, s->worker, s->cluster, project_dir,
		       err) < 0)
		return -1;
	client_set_image_options(s->client, config_get_string(cfg, "container-image-depot-root"),
				 config_get_bool(cfg, "accept-invalid-remote-container-tls-certs"),
				 config_get_string(cfg, "container-registry-plain-http"));
	return 0;
}

void client_stack_release(struct client_stack *s)
{
	client_free(s->client);
	cluster_client_free(s->cluster);
	local_worker_free(s->worker);
	layer_builder_free(s->builder);
	if (s->store) {
		struct err *err = NULL;
		if (store_evict(s->store, &err) < 0)
			log_warning("trimming the cache: %s", err_msg(err));
		err_free(&err);
	}
	store_free(s->store);
	memset(s, 0, sizeof(*s));
}
