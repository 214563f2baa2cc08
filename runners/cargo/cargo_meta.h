/*
 * cargo_meta: what cargo-maelstrom learns from `cargo metadata`, and the
 * cargo options it passes through.
 *
 * `cargo metadata --format-version 1 --no-deps` prints one JSON document:
 * the workspace root, the target directory, and every workspace package
 * with its targets (name, kinds, whether `cargo test` builds it as a test).
 * cargo_meta_parse reads the parts we use; cargo_meta_run runs the command
 * through the reactor and parses its output.
 *
 * Pass-through options (book: cargo-maelstrom/config.md, "Cargo Settings")
 * are not inspected: features, all-features, no-default-features and the
 * manifest options (manifest-path, frozen, locked, offline) go to both
 * `cargo metadata` and `cargo test`; profile, target and target-dir to
 * `cargo test` only.
 *
 * Ownership: a struct cargo_meta owns every string and array in it;
 * cargo_meta_release frees them. struct cargo_opts only borrows (from the
 * configuration).
 */
#ifndef RUNNERS_CARGO_META_H
#define RUNNERS_CARGO_META_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/reactor.h"
#include "runners/testcase.h"

/* The cargo settings passed through; NULL / false when not given. */
struct cargo_opts {
	const char *cargo;          /* program to run: $CARGO, or "cargo" */
	const char *features;
	bool all_features;
	bool no_default_features;
	const char *profile;
	const char *target;
	const char *target_dir;
	const char *manifest_path;
	bool frozen;
	bool locked;
	bool offline;
};

struct cargo_target {
	char *name;
	enum target_kind kind;
	bool test;                  /* `cargo test` builds and runs it */
};

struct cargo_package {
	char *name;
	char *id;                   /* the id cargo's build messages use */
	char *manifest_path;
	struct cargo_target *targets;
	size_t n_targets;
};

struct cargo_meta {
	char *workspace_root;
	char *target_dir;
	struct cargo_package *packages;   /* workspace members, in cargo's order */
	size_t n_packages;
};

/* The kind of a target from its `kind` words ("lib", "rlib", "proc-macro",
 * "bin", "test", "bench", "example", ...); TARGET_NONE when unknown. */
enum target_kind cargo_kind_from_word(const char *word);

/* The filter language's word for a kind: "library", "binary", "test",
 * "benchmark", "example" ("" for TARGET_NONE). */
const char *cargo_kind_filter_word(enum target_kind kind);

/* Parses the output of `cargo metadata --format-version 1`. Fills *out
 * (zeroed first; released on failure). Errors say which field is missing
 * or malformed. Only packages listed in workspace_members are kept. */
int cargo_meta_parse(const char *json, size_t len, struct cargo_meta *out, struct err **err);

/* Frees what m owns and zeroes it. Safe on a zeroed struct. */
void cargo_meta_release(struct cargo_meta *m);

/* The package with the given id, or NULL. */
const struct cargo_package *cargo_meta_package_by_id(const struct cargo_meta *m,
						     const char *id);

/* The target of pkg with that name and kind, or NULL. */
const struct cargo_target *cargo_package_target(const struct cargo_package *pkg,
						const char *name, enum target_kind kind);

/* argv for `cargo metadata`: cargo, metadata, --format-version 1,
 * --no-deps, then the options that apply. A strv (core/strv.h). */
char **cargo_opts_metadata_argv(const struct cargo_opts *o);

/* argv for the build: cargo test --no-run
 * --message-format=json-render-diagnostics, the options that apply, then
 * `--workspace` when packages is NULL, or `-p NAME` for each of the n
 * packages. A strv. */
char **cargo_opts_build_argv(const struct cargo_opts *o, const char *const *packages, size_t n);

/* The directory cargo puts the test binaries' profile output in, which the
 * spec file calls <build-dir>: <target_dir>[/<target>]/<profile dir>, the
 * profile dir being "debug" for the dev and test profiles (the default),
 * "release" for release and bench, and the profile's name otherwise. Heap
 * string. */
char *cargo_build_dir(const char *target_dir, const struct cargo_opts *o);

/* Called once with the parsed metadata (m, which the callee may steal from;
 * it is released afterwards) or, on failure, m == NULL and a message
 * (cargo's own error text when it printed one). */
typedef void cargo_meta_cb(void *arg, struct cargo_meta *m, const char *error);

struct cargo_meta_run;

/* Runs `cargo metadata` in cwd (NULL: ours) through the reactor. Returns a
 * handle to free with cargo_meta_run_free (after or inside the callback, or
 * earlier to cancel), or NULL with *err when cargo cannot be started. */
struct cargo_meta_run *cargo_meta_run(struct reactor *r, const struct cargo_opts *o,
				      const char *cwd, cargo_meta_cb *cb, void *arg,
				      struct err **err);
void cargo_meta_run_free(struct cargo_meta_run *run);

#endif
