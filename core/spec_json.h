/*
 * spec_json: `maelstrom-run` job objects (JSON, via jansson) to and from
 * struct job_spec, per the book's run/spec-fields.md.
 *
 * Accepted fields: image, program (required), arguments, environment,
 * layers, added_layers, mounts, network, enable_writable_file_system,
 * working_directory, user, group, timeout, estimated_duration, priority,
 * and fork_server (an extension, see below). A field set to null counts as
 * absent. Beyond the field types, the book's
 * rules are enforced:
 *  - `image` is "URI" (uses layers and environment) or {"name": URI,
 *    "use": [...]} with a non-empty subset of layers, environment,
 *    working_directory (no `use`: layers and environment).
 *  - `layers` is required unless the image has a `use` of `layers`, and
 *    forbidden when it does; `added_layers` is allowed only then.
 *  - `environment` is an object of NAME: value (implicit mode: one element
 *    with extend = false), or a list of {"vars": {...}, "extend": bool}
 *    (explicit mode). Implicit mode with an image `use` of `environment` is
 *    an error.
 *  - `working_directory` and an image `use` of `working_directory` exclude
 *    each other.
 *  - Layer objects hold exactly one kind key: tar, glob, paths, stubs,
 *    symlinks, shared-library-dependencies; glob, paths and
 *    shared-library-dependencies also take the prefix options
 *    follow_symlinks, canonicalize, strip_prefix, prepend_prefix. Glob
 *    patterns are checked with core/glob (and must be relative), stubs with
 *    core/brace.
 *  - Mounts: {"type": bind|devices|devpts|mqueue|proc|sys|tmp, ...}, with
 *    mount_point (absolute; every type but devices), local_path and
 *    read_only (bind), devices (devices: names from full, fuse, null,
 *    random, shm, tty, urandom, zero).
 *  - user, group, timeout: integers in [0, 2^32); timeout 0 means none.
 *    estimated_duration: integer milliseconds or {"secs": S, "nanos": N}.
 *    priority: a 32-bit signed integer.
 *  - fork_server is this project's extension of the book's job spec (the
 *    book has no warm containers): {"program": "python3", "arguments":
 *    [...]} names a zygote (container/forkserver.h) started once in the
 *    job's container that forks the job instead of a cold launch; the
 *    job's own program and arguments stay what runs cold (core/spec.h,
 *    struct fork_server_spec). program is required and non-empty,
 *    arguments optional; no other key.
 *  - Unknown fields are errors, at every level.
 *
 * Every error names the field path and says what to do, e.g.
 *     field `layers[1].paths[0]`: expected a string, got a number
 *     unknown field `progam` (did you mean `program`?)
 *     missing field `program`: every job needs the program to run
 *
 * job_spec_to_json() writes the same format back with the fields in one
 * canonical order (the order listed above), defaults left out, environment
 * always in explicit mode and each element's variables sorted by name, so
 * equal specs give equal text when dumped without JSON_SORT_KEYS. For every
 * spec the reader accepts, reading back the writer's output gives an equal
 * spec.
 */
#ifndef CORE_SPEC_JSON_H
#define CORE_SPEC_JSON_H

#include <jansson.h>

#include "core/err.h"
#include "core/spec.h"

/* Fills *out (which need not be initialised) from the job object obj. On
 * failure returns -1 with *out released (zeroed) and the reason in *err. */
int job_spec_from_json(const json_t *obj, struct job_spec *out, struct err **err);

/* A new JSON object describing spec (caller owns the reference). Aborts
 * only when out of memory. */
json_t *job_spec_to_json(const struct job_spec *spec);

/* One layer object, for callers that build layers outside a job object
 * (e.g. from a runner's directives converted to JSON). field is the path
 * used in error messages, e.g. "layers[3]". */
int layer_spec_from_json(const json_t *obj, const char *field, struct layer_spec *out,
			 struct err **err);

/* A new JSON object describing one layer, in the canonical form
 * job_spec_to_json() uses; handy as a layer cache key. */
json_t *layer_spec_to_json(const struct layer_spec *layer);

#endif
