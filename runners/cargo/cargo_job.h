/*
 * cargo_job: the job that runs one Rust test (book: cargo-maelstrom/spec/).
 *
 * The directives of cargo-maelstrom.toml (or the book's default) are
 * folded for the test (runners/directives.h), then:
 *   - `<build-dir>` in every layer path, glob, tar path, strip_prefix and
 *     prepend_prefix of the result is replaced by cargo's build directory for the profile (cargo_build_dir);
 *     `<<build-dir>` stands for the literal text `<build-dir>`;
 *   - layers are pushed (onto `added_layers` when the container takes its
 *     layers from an image, else onto `layers`): when
 *     include_shared_libraries holds (by default it does unless the
 *     container comes from an image), first a shared-library-dependencies
 *     layer of the test binary (so tests share it), then a layer holding
 *     the binary alone, at /<binary file name>;
 *   - the program is /<binary file name>, its arguments `--exact
 *     --nocapture`, the extra-test-binary-args, then the test's name;
 *   - the working directory is the directives' (default "/"), the timeout
 *     the directives'; environment, mounts, network, user and group as the
 *     directives say.
 * A directive's `ignore` makes the test IGNORED instead. A test case that is
 * not cargo's is refused.
 */
#ifndef RUNNERS_CARGO_JOB_H
#define RUNNERS_CARGO_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/spec.h"
#include "runners/directives.h"
#include "runners/filter.h"
#include "runners/testcase.h"

/* What every job of one run shares (borrowed). */
struct cargo_job_ctx {
	const struct directives *directives;
	const char *build_dir;            /* what <build-dir> stands for */
	const char *const *extra_args;    /* extra-test-binary-args */
	size_t n_extra_args;
};

/* The engine_job_fn of cargo-maelstrom (runners/engine.h); arg is a
 * struct cargo_job_ctx. */
int cargo_job_make(void *arg, const struct test_case *tc, struct job_spec *out, bool *ignored,
		   struct err **err);

/* The filter callbacks (runners/filter.h) answering for a test case
 * (arg: const struct test_case *): name, package, and the target selectors
 * with the target's name; library/binary/test/benchmark/example from its
 * kind. Everything is known. */
const char *cargo_case_lookup(void *arg, const char *selector);
bool cargo_case_simple(void *arg, const char *selector, bool *known);

/* `path` with <build-dir> replaced (see above). Heap string. */
char *cargo_expand_build_dir(const char *path, const char *build_dir);

#endif
