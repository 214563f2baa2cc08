/*
 * directives: a test runner's spec file (cargo-maelstrom.toml,
 * maelstrom-pytest.toml), which says what container each test runs in.
 *
 * The file (book: cargo-maelstrom/spec/format.md, directives.md, fields.md,
 * pytest/spec/containers.md) has two top-level keys and nothing else:
 *
 *     [[directives]]            applied in order to every test they match
 *     filter = "package.equals(foo)"
 *     layers = [{ stubs = ["/tmp/"] }]
 *     mounts = [{ type = "tmp", mount_point = "/tmp" }]
 *
 *     [containers.executor]     named container specs, usable as `parent`
 *     layers = [...]            (they may be defined after their use)
 *
 * Directive fields: filter (a filter pattern of the caller's flavor, see
 * runners/filter.h; no filter = every test), include_shared_libraries
 * (bool), timeout (seconds, 0 = none), ignore (bool), fork_server (bool,
 * maelstrom-pytest only: see below), and the container
 * fields, which named containers have too: image, parent, layers,
 * added_layers, environment, added_environment, mounts, added_mounts,
 * network, enable_writable_file_system, working_directory, user, group.
 * Layer and mount objects, environment maps and the scalars are read by
 * the job-spec reader (core/spec_json.h), so they take exactly the forms
 * and give the same messages as maelstrom-run's job specs.
 *
 * Inheritance. `image` ("URI" or { name, use }) and `parent` ("NAME" or
 * { name, use }, naming a [containers.NAME]) exclude each other. An image's
 * `use` is a non-empty subset of layers, environment, working_directory
 * (default: layers and environment); a parent's adds
 * enable_writable_file_system, mounts, network, user, group (default: all
 * of them). Setting a field while listing it in an explicit `use` is an
 * error; setting it under a default `use` just stops inheriting it. A
 * named container's fields start from its parent's values for the fields
 * in `use` and from the defaults for the others; there, `added_X` needs a
 * parent whose `use` includes X and cannot be combined with `X` itself.
 * Parent names must exist and must not form a loop (checked at load).
 *
 * Applying directives to a test (directives_apply) starts from an empty
 * container (no layers, no mounts, network disabled, uid/gid 0) and folds
 * in every directive whose filter holds, in file order:
 *   1. its `image`/`parent`, if any: each field in `use` is replaced by
 *      the image's (marked "from the image") or by the named container's
 *      resolved value; other fields keep what earlier directives gave them
 *      (except fields that came from a different, earlier image, which
 *      start over empty);
 *   2. `layers`, `environment`, `mounts`: replace the value so far;
 *      `added_layers`, `added_environment`, `added_mounts`: append to it
 *      (both may appear in one directive: replace first, then append);
 *   3. scalar fields, include_shared_libraries, timeout, ignore,
 *      fork_server: override.
 * `environment` given as a map becomes one element with extend = false
 * (it replaces everything before it, the image's variables included);
 * `added_environment` as a map becomes one element with extend = true.
 * Either may be the explicit list [{ vars = {...}, extend = bool }].
 * Values keep their $env{} / $prev{} forms for core/envexpand.
 *
 * `fork_server` is this project's extension of the book, for
 * maelstrom-pytest only (the pytest flavor; other runners refuse it):
 * `fork_server = false` makes the matching tests start cold, each in a
 * fresh interpreter, instead of being forked from the run's warm zygote
 * (container/forkserver.h), for tests that must not inherit anything the
 * zygote imported; `fork_server = true` undoes an earlier directive's
 * false. With the `fork-server` configuration value false, every test
 * starts cold whatever the directives say.
 *
 * Errors name the file, line and column of the offending value (from
 * core/toml's positions) and the field path, e.g.
 *     cargo-maelstrom.toml:7:12: unknown field `directives[1].layers[0].pths`
 *     (did you mean `paths`?)
 * Indexes count from 0, as in the job-spec reader's messages.
 *
 * Ownership: a `struct directives` is immutable after load and owns all
 * it holds (filters included); it may be applied from several threads.
 * directive_result's container_spec is a deep copy the caller owns and
 * releases with directive_result_release (or steals parts of it).
 */
#ifndef RUNNERS_DIRECTIVES_H
#define RUNNERS_DIRECTIVES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/spec.h"
#include "runners/filter.h"

struct directives;

/* What the directives say for one test. */
struct directive_result {
	/* The container, every inheritance collapsed. container.image.name is
	 * NULL unless some field still comes from an image; the caller reports
	 * images as not supported yet. As in a job spec (core/spec.h), when
	 * image.use_layers is set, `layers` is empty and the layers to stack
	 * on the image's are in `added_layers`; otherwise every layer is in
	 * `layers` and `added_layers` is empty. When image.use_working_directory
	 * is set, working_directory is NULL. */
	struct container_spec container;
	uint32_t timeout_s;             /* 0: no timeout */
	bool ignore;
	/* false when the last matching directive that set `fork_server` said
	 * false (maelstrom-pytest: start the test cold); true otherwise. */
	bool fork_server;
	/* As set by the last matching directive that set it; when none did,
	 * true exactly when the container has no image (book: fields.md). */
	bool include_shared_libraries;
};

/* Loads the spec file at path, or, when path is NULL, default_text (e.g.
 * directives_default_text(fl)), named "(built-in default)" in messages.
 * Filters are parsed with flavor fl. On success stores a new object in
 * *out; on failure returns -1 with *out NULL and *err set to a message
 * naming file:line:col. A missing file is an error: callers decide
 * between the file and the default beforehand. */
int directives_load(struct directives **out, const char *path, const char *default_text,
		    const struct filter_flavor *fl, struct err **err);

/* Fills *out (need not be initialised; released on failure) with the
 * result of folding every directive whose filter is TRUE for the test
 * described by lookup/simple/arg (see filter_eval). A filter that comes out
 * FILTER_UNKNOWN is an error: the caller must know the test completely. */
int directives_apply(const struct directives *d, filter_lookup_fn *lookup,
		     filter_simple_fn *simple, void *arg, struct directive_result *out,
		     struct err **err);

/* Frees what the result owns and zeroes it. Safe on a zeroed result. */
void directive_result_release(struct directive_result *r);

/* Number of directives (for tests and diagnostics). */
size_t directives_count(const struct directives *d);

/* Frees d. Safe on NULL. */
void directives_free(struct directives *d);

/* The book's default configuration (default.md) for the flavor:
 * cargo-maelstrom's for &filter_flavor_cargo, maelstrom-pytest's for
 * &filter_flavor_pytest (the book gives them the same directives). A
 * static string. */
const char *directives_default_text(const struct filter_flavor *fl);

/* The file `--init` writes: the default directives, explained, followed by
 * commented-out examples of the other fields. Loads to directives equal to
 * the default's. A static string. */
const char *directives_init_text(const struct filter_flavor *fl);

#endif
