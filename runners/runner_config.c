#include "runners/runner_config.h"

#include <errno.h>
#include <stdlib.h>

int runner_config_check_counts(const struct config *cfg, struct err **err)
{
	const char *nonneg[] = {"repeat", "loop", "stop-after", "slots"};
	for (size_t i = 0; i < sizeof(nonneg) / sizeof(nonneg[0]); i++)
		if (config_is_set(cfg, nonneg[i]) && config_get_number(cfg, nonneg[i]) < 0)
			return err_set(err, 0, "%s: must not be negative",
				       config_source(cfg, nonneg[i]));
	if (config_is_set(cfg, "slots") && config_get_number(cfg, "slots") < 1)
		return err_set(err, 0, "%s: slots must be at least 1", config_source(cfg, "slots"));
	return 0;
}

int runner_config_timeout(const struct config *cfg, uint32_t *out, struct err **err)
{
	const char *t = config_get_string(cfg, "timeout");
	*out = 0;
	if (!t)
		return 0;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(t, &end, 10);
	if (errno || end == t || *end || t[0] == '-' || v > UINT32_MAX)
		return err_set(err, 0, "%s: `%s` is not a number of seconds",
			       config_source(cfg, "timeout"), t);
	*out = (uint32_t)v;
	return 0;
}

unsigned runner_config_repeat(const struct config *cfg)
{
	if (config_is_set(cfg, "loop"))
		return (unsigned)config_get_number(cfg, "loop");
	return (unsigned)config_get_number(cfg, "repeat");
}

unsigned runner_config_stop_after(const struct config *cfg)
{
	if (!config_is_set(cfg, "stop-after"))
		return 0;
	return (unsigned)config_get_number(cfg, "stop-after");
}
