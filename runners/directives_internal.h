/*
 * directives_internal: what the spec-file files share (private to
 * runners/directives*.c; the public API is runners/directives.h).
 *
 *   directives.c         loading: the document, [[directives]], [containers],
 *                        parent names and loops; freeing
 *   directives_fields.c  one container part's fields (image, parent, layers,
 *                        environment, mounts, scalars) and their rules
 *   directives_paths.c   field paths and the positioned error messages
 *   directives_apply.c   the accumulator: resolving named containers,
 *                        folding directives, building the result
 *   directives_text.c    the default and --init texts
 *
 * Loading walks the document with a `struct dload`, which keeps the field
 * path twice: as shown to users ("directives[1].layers[0]") and as a
 * toml_doc_position path ("directives/1/layers/0"). A reader function's
 * contract (as in core/spec_json_internal.h): on entry the path names the
 * value it reads; it returns 0 with the path as it found it, or -1 with the
 * error set.
 */
#ifndef RUNNERS_DIRECTIVES_INTERNAL_H
#define RUNNERS_DIRECTIVES_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/spec.h"
#include "core/toml.h"
#include "runners/directives.h"
#include "runners/filter.h"

/* ---- the fields a parent can pass on ------------------------------------- */

enum dfield {
	DF_LAYERS,
	DF_ENVIRONMENT,
	DF_WORKING_DIRECTORY,
	DF_WRITABLE,
	DF_MOUNTS,
	DF_NETWORK,
	DF_USER,
	DF_GROUP,
	DF_COUNT,
};
#define DBIT(f) (1u << (f))
#define DF_IMAGE_FIELDS (DBIT(DF_LAYERS) | DBIT(DF_ENVIRONMENT) | DBIT(DF_WORKING_DIRECTORY))
#define DF_ALL_FIELDS ((1u << DF_COUNT) - 1)
#define DF_VECTOR_FIELDS (DBIT(DF_LAYERS) | DBIT(DF_ENVIRONMENT) | DBIT(DF_MOUNTS))

/* The `use` names, indexed by enum dfield; the first three are an image's. */
extern const char *const dfield_names[DF_COUNT];

/* ---- one container part, as written ---------------------------------------- */

enum dparent { DPARENT_NONE, DPARENT_IMAGE, DPARENT_CONTAINER };

struct dcontainer {
	enum dparent parent;
	char *parent_name;      /* image URI or container name */
	size_t parent_index;    /* DPARENT_CONTAINER: index in containers (linked) */
	bool parent_table;      /* written as { name = ..., use = ... } */
	unsigned use;           /* DBITs inherited from the parent */
	bool use_explicit;
	unsigned set;           /* DBITs of the fields written here */
	unsigned added;         /* DBITs of the added_* fields written here */
	struct layer_spec *layers, *added_layers;
	size_t n_layers, n_added_layers;
	struct env_spec *env, *added_env;
	size_t n_env, n_added_env;
	struct mount_spec *mounts, *added_mounts;
	size_t n_mounts, n_added_mounts;
	enum network_mode network;
	bool writable;
	char *working_directory;
	uint32_t user, group;
};

void dcontainer_release(struct dcontainer *c);

/* ---- the accumulator: a container with inheritance collapsed --------------- */

/* Growable array of borrowed pointers. */
struct dptrs {
	const void **v;
	size_t n, cap;
};

/* Values borrowed from the directives object that owns the parts. */
struct dacc {
	const char *image;      /* the image the from_image fields come from */
	unsigned from_image;    /* DF_IMAGE_FIELDS bits taken from the image */
	struct dptrs layers;    /* const struct layer_spec * (on top of the image's) */
	struct dptrs env;       /* const struct env_spec * */
	struct dptrs mounts;    /* const struct mount_spec * */
	enum network_mode network;
	bool writable;
	const char *working_directory;
	uint32_t user, group;
};

void dacc_release(struct dacc *a);

/* ---- the whole file -------------------------------------------------------- */

struct directive {
	struct filter *filter;          /* NULL: every test */
	char *filter_text;
	struct dcontainer c;
	int include_shared_libraries;   /* -1 unset, else 0/1 */
	int ignore;                     /* -1 unset, else 0/1 */
	int fork_server;                /* -1 unset, else 0/1 (maelstrom-pytest) */
	bool has_timeout;
	uint32_t timeout_s;
};

struct named_container {
	char *name;
	struct dcontainer c;
	struct dacc resolved;
	bool resolved_done;
};

struct directives {
	struct directive *v;
	size_t n;
	struct named_container *containers;
	size_t n_containers;
};

/* Resolves every named container into its `resolved` accumulator (parents
 * first). Names and loops were checked by the loader. */
void directives_resolve_containers(struct directives *d);

/* ---- loading context --------------------------------------------------------- */

struct dpath {
	char disp[512];  /* "directives[1].layers[0]" */
	size_t dlen;
	char ptr[512];   /* "directives/1/layers/0" */
	size_t plen;
};

struct dmark {
	size_t dlen, plen;
};

struct dload {
	const struct toml_doc *doc;
	const struct filter_flavor *fl;
	struct dpath path;
	struct err **err;
};

struct dmark dload_push_key(struct dload *l, const char *key);
struct dmark dload_push_index(struct dload *l, size_t i);
void dload_pop(struct dload *l, struct dmark m);

/* "FILE:L:C: field `<path>`: <message>" at the current path; returns -1. */
__attribute__((format(printf, 2, 3)))
int dload_bad(struct dload *l, const char *fmt, ...);
/* "FILE:L:C: unknown field `<path>.<key>` (did you mean `x`?)" or with the
 * list of known names; returns -1. */
int dload_unknown_field(struct dload *l, const char *key, const char *const *known, size_t n);
/* Turns an error of the job-spec reader, whose field paths start with
 * `inner` (e.g. "mounts"), into one about the current path, positioned at
 * the deepest value the message names. Consumes *inner_err; returns -1. */
int dload_rewrap(struct dload *l, const char *inner, struct err **inner_err);

/* Words and names longer than this are never suggested (nor compared). */
#define DLOAD_SUGGEST_MAX_LEN 47

/* suggest_closest() with that bound: the name in names closest to word,
 * if close enough to be a typo, else NULL. */
const char *dload_closest(const char *word, const char *const *names, size_t n);

/* Reads the container fields of obj (a directive's or a named
 * container's; the caller has checked the keys) into *c. is_named: a
 * [containers.NAME] entry, which has the stricter added_* rules. */
int dload_container(struct dload *l, const json_t *obj, bool is_named, struct dcontainer *c);

/* The container field names (for key checks). */
extern const char *const dcontainer_keys[];
extern const size_t n_dcontainer_keys;

#endif
