/*
 * cargo_discover: cargo-maelstrom's discovery, from a workspace's metadata
 * to test cases in the engine, streamed:
 *
 *   1. the packages the filters may match (engine_may_match with only the
 *      package known) are built with `cargo test --no-run` (`-p` for each,
 *      or `--workspace` when every package may match; nothing at all when
 *      none may);
 *   2. every test binary cargo reports, whose target the filters may match
 *      (package, target name and kind known), is listed (`--list`, then
 *      `--ignored`), at most CARGO_DISCOVER_LISTINGS at a time, in its
 *      package's directory;
 *   3. its tests go to the engine (engine_add_tests) as soon as they are
 *      listed, so tests run while other packages still build;
 *   4. cargo's output is shown through the UI; a failed build or listing is
 *      reported with engine_discovery_failed (the other binaries' tests
 *      still run); once the build ended and every listing is done,
 *      engine_discovery_done.
 *
 * With --watch, cargo_discover_rerun starts over from `cargo metadata`
 * (the workspace may have changed) and reloads the spec file.
 *
 * The listing helpers for --list-packages and --list-binaries apply the
 * same filters without building anything.
 *
 * Ownership: the discovery borrows the engine, reactor and options, which
 * must outlive it; it owns the metadata, directives and build directory it
 * was given or loaded. cargo_discover_stop kills cargo and the listings
 * (e.g. on Ctrl-C); cargo_discover_free frees everything.
 */
#ifndef RUNNERS_CARGO_DISCOVER_H
#define RUNNERS_CARGO_DISCOVER_H

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"
#include "core/reactor.h"
#include "runners/cargo/cargo_job.h"
#include "runners/cargo/cargo_meta.h"
#include "runners/directives.h"
#include "runners/engine.h"

/* Test binaries listed at once. */
#define CARGO_DISCOVER_LISTINGS 4

/* The spec file's name in the workspace root. */
#define CARGO_SPEC_FILE "cargo-maelstrom.toml"

struct cargo_discover;

/* Loads the workspace's spec file (<root>/cargo-maelstrom.toml), or the
 * book's default when there is none. */
int cargo_load_directives(const char *workspace_root, struct directives **out,
			  struct err **err);

/* Creates the discovery for a workspace: takes *meta (zeroed) and the
 * directives. extra_args (borrowed) are the extra-test-binary-args. The
 * engine is attached afterwards (it is made with the discovery as its
 * callbacks' argument). */
struct cargo_discover *cargo_discover_new(struct reactor *r, const struct cargo_opts *opts,
					  struct cargo_meta *meta, struct directives *d,
					  const char *const *extra_args, size_t n_extra_args);

/* Sets the engine the tests go to; before cargo_discover_start. cargo's
 * output is shown through the engine's UI, or written to standard error
 * when text_to_stderr (--list-tests: standard output holds only the list). */
void cargo_discover_attach(struct cargo_discover *d, struct engine *e, bool text_to_stderr);

/* The engine_job_fn to give the engine, with the discovery as its argument:
 * cargo_job_make with the current directives and build directory. */
int cargo_discover_job(void *arg, const struct test_case *tc, struct job_spec *out,
		       bool *ignored, struct err **err);

/* Starts discovery with the metadata given to cargo_discover_new. */
void cargo_discover_start(struct cargo_discover *d);

/* --watch: reruns `cargo metadata`, reloads the spec file, and discovers
 * again (an engine_rediscover_fn; arg is the discovery). */
void cargo_discover_rerun(void *arg);

/* Kills the build and the listings; no more tests reach the engine. */
void cargo_discover_stop(struct cargo_discover *d);

/* Stops and frees. Safe on NULL. */
void cargo_discover_free(struct cargo_discover *d);

/* --list-packages: prints the name of every workspace package with a
 * tested target that the filters may match, one per line. */
void cargo_print_packages(struct engine *e, const struct cargo_meta *m, FILE *out);

/* --list-binaries: prints every tested target the filters may match:
 * "PACKAGE (library)" or "PACKAGE TARGET (KIND)", KIND in the filter
 * language's words. */
void cargo_print_binaries(struct engine *e, const struct cargo_meta *m, FILE *out);

#endif
