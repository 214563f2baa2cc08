#include "runners/testcase.h"

#include <stdlib.h>

#include "core/strv.h"

void test_case_free(struct test_case *tc)
{
	if (!tc)
		return;
	free(tc->id);
	free(tc->package);
	free(tc->binary);
	free(tc->name);
	free(tc->file);
	free(tc->node_id);
	strv_free(tc->markers);
	free(tc->display);
	if (tc->runner_data_free)
		tc->runner_data_free(tc->runner_data);
	free(tc);
}
