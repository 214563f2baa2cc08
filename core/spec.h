/*
 * spec: the job specification model, in the book's vocabulary.
 *
 * A `struct job_spec` is what a client knows about a job before it is
 * resolved: layers are still layer *specifications* (paths, globs, ...),
 * environment values may still hold `$env{}` / `$prev{}`. It is filled by
 * the job-spec JSON reader (core/spec_json.h) and, later, by the test
 * runners' directives. Every string and array in it is heap-owned by the
 * spec and released by job_spec_release().
 *
 * Field meanings follow the book (spec.md, spec-layers.md,
 * run/spec-fields.md); names are the JSON field names where possible.
 */
#ifndef CORE_SPEC_H
#define CORE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- layers ------------------------------------------------------------ */

enum layer_kind {
	LAYER_TAR,          /* { "tar": "path/to/file.tar" } */
	LAYER_GLOB,         /* { "glob": "src/x*.py", <prefix options> } */
	LAYER_PATHS,        /* { "paths": ["a", "/b"], <prefix options> } */
	LAYER_STUBS,        /* { "stubs": ["/dev/{null,zero}", "/tmp/"] } */
	LAYER_SYMLINKS,     /* { "symlinks": [{"link": "/x", "target": "/y"}] } */
	LAYER_SHARED_LIBS,  /* { "shared-library-dependencies": [...], <prefix options> } */
};

struct prefix_options {
	char *strip_prefix;     /* NULL when absent */
	char *prepend_prefix;   /* NULL when absent */
	bool canonicalize;
	bool follow_symlinks;
};

struct symlink_spec {
	char *link;
	char *target;
};

struct layer_spec {
	enum layer_kind kind;
	char *path;                   /* LAYER_TAR */
	char *glob;                   /* LAYER_GLOB */
	char **paths;                 /* LAYER_PATHS, LAYER_STUBS, LAYER_SHARED_LIBS */
	size_t n_paths;
	struct symlink_spec *symlinks; /* LAYER_SYMLINKS */
	size_t n_symlinks;
	struct prefix_options prefix; /* LAYER_GLOB, LAYER_PATHS, LAYER_SHARED_LIBS */
};

/* ---- mounts ------------------------------------------------------------ */

enum mount_kind {
	MOUNT_BIND,      /* local-only: local_path -> mount_point */
	MOUNT_DEVICES,   /* devices from the host's /dev, at /dev/<name> */
	MOUNT_DEVPTS,    /* devpts, ptmxmode=0666 */
	MOUNT_MQUEUE,
	MOUNT_PROC,
	MOUNT_SYS,
	MOUNT_TMP,       /* tmpfs */
};

/* Device bits for MOUNT_DEVICES, in the book's order. */
enum job_device {
	DEVICE_FULL = 1u << 0,
	DEVICE_FUSE = 1u << 1,
	DEVICE_NULL = 1u << 2,
	DEVICE_RANDOM = 1u << 3,
	DEVICE_SHM = 1u << 4,
	DEVICE_TTY = 1u << 5,
	DEVICE_URANDOM = 1u << 6,
	DEVICE_ZERO = 1u << 7,
};
#define DEVICE_COUNT 8

/* "full" -> DEVICE_FULL, ...; 0 for an unknown name. */
unsigned job_device_from_name(const char *name);
/* DEVICE_NULL -> "null"; the bit must be a single known device. */
const char *job_device_name(unsigned bit);

struct mount_spec {
	enum mount_kind kind;
	char *mount_point;   /* absolute path inside the container (not DEVICES) */
	char *local_path;    /* MOUNT_BIND: host path, relative to the project dir */
	bool read_only;      /* MOUNT_BIND */
	unsigned devices;    /* MOUNT_DEVICES: mask of enum job_device */
};

const char *mount_kind_name(enum mount_kind kind); /* "bind", "devices", ... */

/* ---- environment --------------------------------------------------------- */

struct env_var {
	char *name;
	char *value;         /* may contain $env{X}, $env{X:-def}, $prev{X} */
};

/* One element of the `environment` list (explicit mode); implicit mode is
 * one element with extend = false. */
struct env_spec {
	struct env_var *vars;
	size_t n_vars;
	bool extend;
};

/* ---- container and job ----------------------------------------------------- */

enum network_mode {
	NETWORK_DISABLED,    /* own network namespace, no interfaces up */
	NETWORK_LOOPBACK,    /* own network namespace, lo up */
	NETWORK_LOCAL,       /* host network (local-only job) */
};

const char *network_mode_name(enum network_mode mode);

struct image_spec {
	char *name;          /* "docker://...", "oci:...", NULL when no image */
	bool use_layers;
	bool use_environment;
	bool use_working_directory;
};

struct container_spec {
	struct image_spec image;
	struct env_spec *environment;
	size_t n_environment;
	struct layer_spec *layers;
	size_t n_layers;
	struct layer_spec *added_layers;
	size_t n_added_layers;
	struct mount_spec *mounts;
	size_t n_mounts;
	enum network_mode network;
	bool enable_writable_file_system;
	char *working_directory;   /* NULL means "/" */
	uint32_t user;             /* default 0 */
	uint32_t group;            /* default 0 */
};

/* A fork server (a warm container, container/forkserver.h): a program started
 * once in the job's own container (same layers, mounts, network, environment,
 * working directory, user) that forks a child for each job naming it, instead
 * of the job being launched cold. The job's own program and arguments stay
 * what they would be cold, so any executor may run it cold instead (no fork
 * server support, the zygote failed, ...) with the same result.
 * JSON (an extension of the book's job spec):
 *     "fork_server": { "program": "python3", "arguments": ["-m", "zygote"] }
 * program NULL: the job names no fork server. */
struct fork_server_spec {
	char *program;
	char **arguments;
	size_t n_arguments;
};

struct job_spec {
	struct container_spec container;
	struct fork_server_spec fork_server;
	char *program;
	char **arguments;
	size_t n_arguments;
	uint32_t timeout_s;          /* 0: no timeout */
	uint64_t estimated_duration_ms; /* 0: unknown */
	int32_t priority;            /* higher runs first; default 0 */
	bool allocate_tty;
};

/* Frees everything the spec owns and zeroes it. Safe on a zeroed spec. */
void job_spec_release(struct job_spec *spec);
void container_spec_release(struct container_spec *c);
void layer_spec_release(struct layer_spec *l);
void mount_spec_release(struct mount_spec *m);
void env_spec_release(struct env_spec *e);
void fork_server_spec_release(struct fork_server_spec *f);

/* True when the job can only run on the client's own machine: a bind mount,
 * network "local" (book: local-worker.md), or a tty. */
bool job_spec_is_local_only(const struct job_spec *spec);

#endif
