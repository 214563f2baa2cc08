/*
 * plan: the small things around a compiled mount plan: freeing, hashing a
 * container's shape, accessors for the launcher, and the debug listing.
 * Compiling is in plan_compile.c, running in plan_exec.c.
 */
#include "container/plan.h"
#include "container/plan_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <xxhash.h>

void mount_plan_free(struct mount_plan *p)
{
	if (!p)
		return;
	struct arena a = p->arena;   /* the plan lives in its own arena */
	arena_release(&a);
}

/* ---- shape hash ----------------------------------------------------------- */

static void hash_bytes(XXH3_state_t *s, const void *p, size_t n)
{
	if (XXH3_64bits_update(s, p, n) != XXH_OK)
		abort();
}

static void hash_u64(XXH3_state_t *s, uint64_t v)
{
	hash_bytes(s, &v, sizeof(v));
}

/* Strings are length-prefixed so ("ab","c") and ("a","bc") differ; NULL
 * differs from "". */
static void hash_str(XXH3_state_t *s, const char *str)
{
	if (!str) {
		hash_u64(s, UINT64_MAX);
		return;
	}
	size_t n = strlen(str);
	hash_u64(s, n);
	hash_bytes(s, str, n);
}

uint64_t container_desc_hash(const struct container_desc *d)
{
	XXH3_state_t *s = XXH3_createState();
	if (!s || XXH3_64bits_reset(s) != XXH_OK)
		abort();
	hash_u64(s, d->n_layer_dirs);
	for (size_t i = 0; i < d->n_layer_dirs; i++)
		hash_str(s, d->layer_dirs[i]);
	hash_u64(s, d->n_mounts);
	for (size_t i = 0; i < d->n_mounts; i++) {
		const struct mount_spec *m = &d->mounts[i];
		hash_u64(s, (uint64_t)m->kind);
		hash_str(s, m->mount_point);
		hash_str(s, m->local_path);
		hash_u64(s, m->read_only);
		hash_u64(s, m->devices);
	}
	hash_u64(s, (uint64_t)d->network);
	hash_u64(s, d->writable_root);
	hash_u64(s, d->user);
	hash_u64(s, d->group);
	hash_str(s, d->bind_base_dir);
	uint64_t h = XXH3_64bits_digest(s);
	XXH3_freeState(s);
	return h;
}

/* ---- accessors ------------------------------------------------------------ */

enum network_mode mount_plan_network(const struct mount_plan *p)
{
	return p->network;
}

bool mount_plan_can_share_netns(const struct mount_plan *p)
{
	return p->network != NETWORK_LOCAL && !p->has_sysfs;
}

uint32_t mount_plan_user(const struct mount_plan *p)
{
	return p->user;
}

uint32_t mount_plan_group(const struct mount_plan *p)
{
	return p->group;
}

const char *mount_plan_uid_map(const struct mount_plan *p, size_t *len)
{
	*len = p->uid_map_len;
	return p->uid_map;
}

const char *mount_plan_gid_map(const struct mount_plan *p, size_t *len)
{
	*len = p->gid_map_len;
	return p->gid_map;
}

size_t mount_plan_op_count(const struct mount_plan *p)
{
	return p->n_ops;
}

const char *mount_plan_op_what(const struct mount_plan *p, size_t i)
{
	return i < p->n_ops ? p->ops[i].what : "(no such plan operation)";
}

bool mount_plan_op_is_spec_error(const struct mount_plan *p, size_t i, int errnum)
{
	if (i >= p->n_ops)
		return false;
	/* A target only known at run time (below an earlier mount) may simply
	 * not be there: that is the spec's doing. Everything else was checked
	 * when compiling, so a failure is the machine's. */
	return p->ops[i].unverified &&
	       (errnum == ENOENT || errnum == ENOTDIR || errnum == ELOOP);
}

/* ---- debug listing ---------------------------------------------------------- */

static const char *op_name(enum plan_op_kind kind)
{
	switch (kind) {
	case PLAN_OP_HOLDER_TMPFS:
		return "holder-tmpfs";
	case PLAN_OP_MKDIR:
		return "mkdir";
	case PLAN_OP_ROOT_OVERLAY:
		return "root-overlay";
	case PLAN_OP_ROOT_BIND:
		return "root-bind";
	case PLAN_OP_READONLY:
		return "read-only";
	case PLAN_OP_PROC:
		return "proc";
	case PLAN_OP_SYSFS:
		return "sysfs";
	case PLAN_OP_TMPFS:
		return "tmpfs";
	case PLAN_OP_MQUEUE:
		return "mqueue";
	case PLAN_OP_DEVPTS:
		return "devpts";
	case PLAN_OP_DEVICE:
		return "device";
	case PLAN_OP_BIND:
		return "bind";
	case PLAN_OP_PIVOT_ROOT:
		return "pivot-root";
	}
	return "?";
}

static void dump_flags(FILE *f, unsigned long flags)
{
	static const struct {
		unsigned long bit;
		const char *name;
	} names[] = {
		{ MS_RDONLY, "ro" }, { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" },
		{ MS_NOEXEC, "noexec" },
	};
	const char *sep = " [";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			fprintf(f, "%s%s", sep, names[i].name);
			sep = ",";
		}
	}
	if (*sep == ',')
		fputc(']', f);
}

static void dump_op(FILE *f, size_t i, const struct plan_op *op)
{
	fprintf(f, "%zu %s", i, op_name(op->kind));
	switch (op->kind) {
	case PLAN_OP_HOLDER_TMPFS:
	case PLAN_OP_ROOT_OVERLAY:
	case PLAN_OP_PROC:
	case PLAN_OP_SYSFS:
	case PLAN_OP_TMPFS:
	case PLAN_OP_MQUEUE:
	case PLAN_OP_DEVPTS:
		fprintf(f, " %s", op->fs.target);
		if (op->fs.options)
			fprintf(f, " \"%s\"", op->fs.options);
		dump_flags(f, op->fs.flags);
		break;
	case PLAN_OP_MKDIR:
		fprintf(f, " %s %04o", op->mkdir.path, (unsigned)op->mkdir.mode);
		break;
	case PLAN_OP_ROOT_BIND:
	case PLAN_OP_DEVICE:
	case PLAN_OP_BIND:
		fprintf(f, " %s -> %s%s", op->bind.source, op->bind.target,
		        op->bind.recursive ? " [rec]" : "");
		break;
	case PLAN_OP_READONLY:
		fprintf(f, " %s%s", op->readonly.path, op->readonly.recursive ? " [rec]" : "");
		break;
	case PLAN_OP_PIVOT_ROOT:
		fprintf(f, " %s", op->pivot.new_root);
		break;
	}
	if (op->mount_index >= 0)
		fprintf(f, " (mount %d)", op->mount_index);
	if (op->unverified)
		fputs(" (checked at run time)", f);
	fputc('\n', f);
}

char *mount_plan_dump(const struct mount_plan *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		abort();
	fprintf(f, "network %s, %s root, uid_map \"%.*s\", gid_map \"%.*s\"\n",
	        network_mode_name(p->network), p->writable_root ? "writable" : "read-only",
	        (int)p->uid_map_len - 1, p->uid_map, (int)p->gid_map_len - 1, p->gid_map);
	for (size_t i = 0; i < p->n_ops; i++)
		dump_op(f, i, &p->ops[i]);
	if (fclose(f) != 0)
		abort();
	return text;
}
