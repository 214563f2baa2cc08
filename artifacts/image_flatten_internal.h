/*
 * image_flatten_internal: what the two passes of image_flatten share
 * (private to artifacts/image_flatten*.c; the public API is
 * artifacts/image_flatten.h).
 *
 *   image_flatten_plan.c  pass 1: the layers top first -> a plan saying
 *                         which entry of which layer survives, and what to
 *                         do with hard links whose target is gone
 *   image_flatten_entry.c reading layer tars and their entries
 *   image_flatten.c       pass 2: the layers bottom first, the survivors
 *                         copied into the output tar
 *
 * Layers are numbered from 0 (the bottom) inside the code; messages count
 * from 1. An entry is named by (layer, ordinal): its position in its
 * layer's tar, counting every header from 0.
 *
 * The plan keeps one node per path that matters (entries that survive,
 * whiteouts, the ancestors of entries), with the highest layer that has an
 * entry there and the layers below which the path's subtree is hidden; so
 * its memory grows with the number of paths, never with file sizes.
 */
#ifndef ARTIFACTS_IMAGE_FLATTEN_INTERNAL_H
#define ARTIFACTS_IMAGE_FLATTEN_INTERNAL_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/table.h"

/* ---- entries ------------------------------------------------------------- */

enum flat_type {
	FLAT_DIR,
	FLAT_FILE,
	FLAT_SYMLINK,
	FLAT_HARDLINK,
	FLAT_DROPPED,   /* device node, FIFO, socket: affects lower layers only */
	FLAT_WHITEOUT,  /* ".wh.NAME": path is the deleted path */
	FLAT_OPAQUE,    /* ".wh..wh..opq": path is its directory */
	FLAT_IGNORED,   /* other ".wh..wh." names (aufs bookkeeping) */
};

/* One tar entry as both passes see it. */
struct flat_entry {
	enum flat_type type;
	char *path;     /* normalized ("" is the layer root); see the types */
	char *link;     /* FLAT_HARDLINK: the normalized target */
};

/* Classifies the entry e of the layer named `layer` (for messages, e.g.
 * "layer 2 (/x.tar)"); errors for absolute names, `..`, bad whiteouts.
 * out's strings are heap-owned: flat_entry_release. */
int flat_entry_read(struct archive_entry *e, const char *layer, struct flat_entry *out,
		    struct err **err);
void flat_entry_release(struct flat_entry *fe);

/* A libarchive reader of a layer tar (plain, gzip, zstd, ...); NULL with
 * *err set when it cannot be opened. */
struct archive *flat_layer_open(const char *path, const char *layer, struct err **err);

/* libarchive's message for a, never NULL. */
const char *flat_archive_msg(struct archive *a);

/* The next header of a (k headers read so far): 1, 0 at the end, or -1
 * with *err set for a damaged tar. */
int flat_next_entry(struct archive *a, const char *layer, uint64_t k,
		    struct archive_entry **e, struct err **err);

/* ---- the plan ------------------------------------------------------------ */

enum flat_action_kind {
	FLAT_SPOOL,      /* keep this entry's content aside: a copy needs it */
	FLAT_COPY,       /* write this hard link as a copy of entry `source` */
	FLAT_LINK,       /* write this hard link as a link to `target` */
	FLAT_LINK_LOWER, /* a hard link to `target` of a layer beneath: link if it survives */
};

struct flat_action {
	uint64_t ordinal;
	enum flat_action_kind kind;
	uint64_t source; /* FLAT_COPY */
	char *target;    /* FLAT_LINK, FLAT_LINK_LOWER */
};

/* A layer's actions, sorted by ordinal (at most one per ordinal). */
struct flat_actions {
	struct flat_action *v;
	size_t n, cap;
};

struct flat_plan {
	struct table nodes;          /* 128-bit hash of a path -> chain of nodes */
	struct flat_actions *layers; /* n_layers */
	size_t n_layers;
};

/* Pass 1: reads every layer, top first, into plan (zeroed by the caller or
 * not: it is initialized here). names[i] names layer i in messages. On
 * failure the plan is released. */
int flat_plan_build(struct flat_plan *plan, const char *const *layer_paths,
		    char *const *names, size_t n_layers, struct err **err);
void flat_plan_release(struct flat_plan *plan);

/* Whether entry `ordinal` of `layer`, at path, is in the result. */
bool flat_plan_survives(const struct flat_plan *plan, const char *path, size_t layer,
			uint64_t ordinal);

/* Whether the result holds a non-directory at path from a layer below
 * `layer` (a FLAT_LINK_LOWER target). */
bool flat_plan_lower_file(const struct flat_plan *plan, const char *path, size_t layer);

#endif
