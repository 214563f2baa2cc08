/*
 * Unit tests for container/plan: compiling a container description against
 * layer directories built here (no container is started; see test_launch.c
 * for running plans). Checks the listing of the operations, every
 * compile-time error message, lookups through symlinks and overlay rules,
 * and the shape hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container/plan.h"

static char base[PATH_MAX];
static char l0[PATH_MAX], l1[PATH_MAX], l2[PATH_MAX];  /* bottom, middle, top */
static char scratch[PATH_MAX];
static char hostdir[PATH_MAX], hostfile[PATH_MAX];

static void path_join(char *out, const char *a, const char *b)
{
	if (snprintf(out, PATH_MAX, "%s%s", a, b) >= PATH_MAX)
		fail_msg("path too long: %s%s", a, b);
}

static void mkdir_in(const char *layer, const char *path)
{
	char buf[PATH_MAX];
	path_join(buf, layer, path);
	for (char *p = buf + strlen(layer) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
}

static void file_in(const char *layer, const char *path)
{
	char buf[PATH_MAX];
	path_join(buf, layer, path);
	int fd = open(buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("create %s: %s", buf, strerror(errno));
	close(fd);
}

static void link_in(const char *layer, const char *path, const char *target)
{
	char buf[PATH_MAX];
	path_join(buf, layer, path);
	if (symlink(target, buf) < 0)
		fail_msg("symlink %s: %s", buf, strerror(errno));
}

static void rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d))) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char sub[PATH_MAX];
				path_join(sub, path, "/");
				strncat(sub, e->d_name, sizeof(sub) - strlen(sub) - 1);
				rm_rf(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int group_setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/h6-plan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		fail_msg("mkdtemp %s: %s", base, strerror(errno));
	path_join(l0, base, "/l0");
	path_join(l1, base, "/l1");
	path_join(l2, base, "/l2");
	path_join(scratch, base, "/scratch");
	path_join(hostdir, base, "/host");
	path_join(hostfile, base, "/host/file");
	mkdir_in(base, "/l0");
	mkdir_in(base, "/l1");
	mkdir_in(base, "/l2");
	mkdir_in(base, "/scratch");
	mkdir_in(base, "/host");
	file_in(base, "/host/file");

	/* bottom: the usual stubs, and a tree hidden by the middle layer */
	mkdir_in(l0, "/proc");
	mkdir_in(l0, "/tmp");
	mkdir_in(l0, "/sys");
	mkdir_in(l0, "/dev");
	file_in(l0, "/dev/null");
	mkdir_in(l0, "/run");
	mkdir_in(l0, "/usr/lib/x");
	mkdir_in(l0, "/hidden/deep");
	mkdir_in(l0, "/shadowed/deep");
	mkdir_in(l0, "/mnt");
	file_in(l0, "/afile");
	/* middle: /hidden becomes a file, hiding l0's /hidden/deep */
	file_in(l1, "/hidden");
	mkdir_in(l1, "/var");
	link_in(l1, "/var/run", "/run");          /* absolute: inside the container */
	link_in(l1, "/lib", "usr/lib");          /* relative */
	link_in(l1, "/loop", "loop");
	/* top: /shadowed is a file in the top layer */
	mkdir_in(l2, "/hidden");                 /* a directory again, over the file */
	file_in(l2, "/shadowed");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rm_rf(base);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------------- */

struct desc {
	const char *layers[4];
	size_t n_layers;
	struct mount_spec mounts[8];
	size_t n_mounts;
	enum network_mode network;
	bool writable;
	uint32_t user, group;
	const char *bind_base;
};

static struct container_desc to_desc(const struct desc *x)
{
	return (struct container_desc){
		.layer_dirs = x->layers, .n_layer_dirs = x->n_layers,
		.mounts = x->mounts, .n_mounts = x->n_mounts, .network = x->network,
		.writable_root = x->writable, .user = x->user, .group = x->group,
		.bind_base_dir = x->bind_base,
	};
}

/* Compiles; returns the dump with every occurrence of the temp dir replaced
 * by "T" (caller frees), or fails the test. */
static char *compile_dump(const struct desc *x)
{
	struct container_desc d = to_desc(x);
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	if (mount_plan_compile(&p, &d, scratch, &e) < 0)
		fail_msg("compile: %s", err_msg(e));
	char *dump = mount_plan_dump(p);
	mount_plan_free(p);
	size_t bl = strlen(base);
	char *out = malloc(strlen(dump) + 1), *o = out;
	for (const char *s = dump; *s;) {
		if (strncmp(s, base, bl) == 0) {
			*o++ = 'T';
			s += bl;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	free(dump);
	return out;
}

/* Compiles, expecting failure; returns the message with the temp dir
 * replaced by "T" in a static buffer. */
static const char *compile_error(const struct desc *x)
{
	static char msg[2048];
	struct container_desc d = to_desc(x);
	struct mount_plan *p = (struct mount_plan *)1;
	struct err *e = NULL;
	assert_int_equal(mount_plan_compile(&p, &d, scratch, &e), -1);
	assert_null(p);
	assert_non_null(e);
	size_t bl = strlen(base), n = 0;
	for (const char *s = err_msg(e); *s && n + 1 < sizeof(msg);) {
		if (strncmp(s, base, bl) == 0) {
			msg[n++] = 'T';
			s += bl;
		} else {
			msg[n++] = *s++;
		}
	}
	msg[n] = '\0';
	err_free(&e);
	return msg;
}

#define M(k, mp) { .kind = (k), .mount_point = (char *)(mp) }

static char euid_line[256];

static const char *header(const char *net, const char *root, unsigned user, unsigned group)
{
	snprintf(euid_line, sizeof(euid_line), "network %s, %s root, uid_map \"%u %u 1\", "
	         "gid_map \"%u %u 1\"\n", net, root, user, (unsigned)geteuid(), group,
	         (unsigned)getegid());
	return euid_line;
}

static void expect_dump(const struct desc *x, const char *head, const char *ops)
{
	char *dump = compile_dump(x);
	char want[4096];
	snprintf(want, sizeof(want), "%s%s", head, ops);
	assert_string_equal(dump, want);
	free(dump);
}

/* ---- plans ---------------------------------------------------------------------- */

static void test_single_layer_is_read_only_bind(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1 };
	expect_dump(&x, header("disabled", "read-only", 0, 0),
	            "0 root-bind T/l0 -> T/scratch\n"
	            "1 read-only T/scratch\n"
	            "2 pivot-root T/scratch\n");
}

static void test_layers_overlay_top_first(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0, l1, l2 }, .n_layers = 3, .network = NETWORK_LOOPBACK,
		          .user = 1000, .group = 100 };
	expect_dump(&x, header("loopback", "read-only", 1000, 100),
	            "0 root-overlay T/scratch \"lowerdir=T/l2:T/l1:T/l0\" [ro]\n"
	            "1 pivot-root T/scratch\n");
}

static void test_writable_root(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1, .writable = true };
	expect_dump(&x, header("disabled", "writable", 0, 0),
	            "0 holder-tmpfs T/scratch \"mode=0755\" [nosuid,nodev]\n"
	            "1 mkdir T/scratch/upper 0755\n"
	            "2 mkdir T/scratch/work 0755\n"
	            "3 root-overlay T/scratch \"lowerdir=T/l0,upperdir=T/scratch/upper,"
	            "workdir=T/scratch/work,userxattr\"\n"
	            "4 pivot-root T/scratch\n");
}

static void test_every_mount_kind(void **state)
{
	(void)state;
	struct desc x = {
		.layers = { l0, l1 }, .n_layers = 2,
		.mounts = {
			M(MOUNT_PROC, "/proc"), M(MOUNT_SYS, "/sys"), M(MOUNT_TMP, "/tmp"),
			M(MOUNT_MQUEUE, "/run"), M(MOUNT_DEVPTS, "/mnt"),
			{ .kind = MOUNT_DEVICES, .devices = DEVICE_NULL },
			{ .kind = MOUNT_BIND, .mount_point = "/usr", .local_path = "host",
			  .read_only = true },
			{ .kind = MOUNT_BIND, .mount_point = "/afile", .local_path = hostfile },
		},
		.n_mounts = 8, .bind_base = base,
	};
	expect_dump(&x, header("disabled", "read-only", 0, 0),
	            "0 root-overlay T/scratch \"lowerdir=T/l1:T/l0\" [ro]\n"
	            "1 proc T/scratch/proc [nosuid,nodev,noexec] (mount 0)\n"
	            "2 sysfs T/scratch/sys [nosuid,nodev,noexec] (mount 1)\n"
	            "3 tmpfs T/scratch/tmp [nosuid,nodev] (mount 2)\n"
	            "4 mqueue T/scratch/run [nosuid,nodev,noexec] (mount 3)\n"
	            "5 devpts T/scratch/mnt \"newinstance,ptmxmode=0666,mode=0620\" "
	            "[nosuid,noexec] (mount 4)\n"
	            "6 device /dev/null -> T/scratch/dev/null (mount 5)\n"
	            "7 bind T/host -> T/scratch/usr [rec] (mount 6)\n"
	            "8 read-only T/scratch/usr [rec] (mount 6)\n"
	            "9 bind T/host/file -> T/scratch/afile [rec] (mount 7)\n"
	            "10 pivot-root T/scratch\n");
}

static void test_mount_points_follow_symlinks_inside(void **state)
{
	(void)state;
	struct desc x = {
		.layers = { l0, l1 }, .n_layers = 2,
		.mounts = { M(MOUNT_TMP, "/var/run"), M(MOUNT_TMP, "/lib/x") },
		.n_mounts = 2,
	};
	/* /var/run -> /run (absolute, taken inside the container, not the
	 * host's /run); /lib -> usr/lib (relative). */
	expect_dump(&x, header("disabled", "read-only", 0, 0),
	            "0 root-overlay T/scratch \"lowerdir=T/l1:T/l0\" [ro]\n"
	            "1 tmpfs T/scratch/run [nosuid,nodev] (mount 0)\n"
	            "2 tmpfs T/scratch/usr/lib/x [nosuid,nodev] (mount 1)\n"
	            "3 pivot-root T/scratch\n");
}

static void test_below_earlier_mount_checked_at_run_time(void **state)
{
	(void)state;
	struct desc x = {
		.layers = { l0 }, .n_layers = 1,
		.mounts = { M(MOUNT_TMP, "/tmp"), M(MOUNT_TMP, "/tmp/a/b") },
		.n_mounts = 2,
	};
	expect_dump(&x, header("disabled", "read-only", 0, 0),
	            "0 root-bind T/l0 -> T/scratch\n"
	            "1 read-only T/scratch\n"
	            "2 tmpfs T/scratch/tmp [nosuid,nodev] (mount 0)\n"
	            "3 tmpfs T/scratch/tmp/a/b [nosuid,nodev] (mount 1) (checked at run time)\n"
	            "4 pivot-root T/scratch\n");
}

static void test_overlay_lookup_rules(void **state)
{
	(void)state;
	/* /hidden/deep: a directory in l2 over a file in l1: l0's deep is hidden. */
	struct desc x = { .layers = { l0, l1, l2 }, .n_layers = 3,
		          .mounts = { M(MOUNT_TMP, "/hidden/deep") }, .n_mounts = 1 };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (tmp): mount point /hidden/deep does not exist in the layers; "
	                    "add it with a stubs layer such as { \"stubs\": [\"/hidden/deep/\"] }");
	/* /shadowed is a file on top: nothing below it is reachable. */
	x.mounts[0] = (struct mount_spec)M(MOUNT_TMP, "/shadowed/deep");
	assert_string_equal(compile_error(&x),
	                    "mount 0 (tmp): mount point /shadowed/deep cannot be looked up in the "
	                    "layers: Not a directory");
	/* Without the top layer both are there. */
	x.n_layers = 1;
	x.mounts[0] = (struct mount_spec)M(MOUNT_TMP, "/hidden/deep");
	free(compile_dump(&x));
	x.mounts[0] = (struct mount_spec)M(MOUNT_TMP, "/shadowed/deep");
	free(compile_dump(&x));
}

/* ---- errors --------------------------------------------------------------------- */

static void test_error_missing_mount_point(void **state)
{
	(void)state;
	struct desc x = { .layers = { l1 }, .n_layers = 1,
		          .mounts = { M(MOUNT_TMP, "/var"), M(MOUNT_TMP, "/var"), M(MOUNT_PROC, "/proc") },
		          .n_mounts = 3 };
	assert_string_equal(compile_error(&x),
	                    "mount 2 (proc): mount point /proc does not exist in the layers; add it "
	                    "with a stubs layer such as { \"stubs\": [\"/proc/\"] }");
}

static void test_error_sys_and_local_network(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1, .network = NETWORK_LOCAL,
		          .mounts = { M(MOUNT_PROC, "/proc"), M(MOUNT_SYS, "/sys") }, .n_mounts = 2 };
	const char *msg = compile_error(&x);
	assert_non_null(strstr(msg, "mounts sys and network \"local\" cannot be combined"));
	x.network = NETWORK_LOOPBACK;
	free(compile_dump(&x));
}

static void test_error_mount_point_not_absolute(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1,
		          .mounts = { M(MOUNT_TMP, "tmp") }, .n_mounts = 1 };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (tmp): mount point tmp must be an absolute path without . or .. "
	                    "components");
	x.mounts[0] = (struct mount_spec)M(MOUNT_TMP, "/usr/../tmp");
	assert_string_equal(compile_error(&x),
	                    "mount 0 (tmp): mount point /usr/../tmp must be an absolute path without "
	                    ". or .. components");
	x.mounts[0] = (struct mount_spec)M(MOUNT_PROC, NULL);
	assert_string_equal(compile_error(&x),
	                    "mount 0 (proc): mount point (missing) must be an absolute path without "
	                    ". or .. components");
}

static void test_error_mount_point_kind(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1,
		          .mounts = { M(MOUNT_PROC, "/afile") }, .n_mounts = 1 };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (proc): mount point /afile is not a directory in the layers");
	x.mounts[0] = (struct mount_spec){ .kind = MOUNT_BIND, .mount_point = "/afile",
		                           .local_path = hostdir };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (bind): mount point /afile is not a directory in the layers");
	x.mounts[0] = (struct mount_spec){ .kind = MOUNT_BIND, .mount_point = "/mnt",
		                           .local_path = hostfile };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (bind): mount point /mnt is a directory in the layers, but what "
	                    "is mounted on it is not");
}

static void test_error_symlink_loop(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0, l1 }, .n_layers = 2,
		          .mounts = { M(MOUNT_TMP, "/loop") }, .n_mounts = 1 };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (tmp): mount point /loop cannot be looked up in the layers: "
	                    "Too many levels of symbolic links");
}

static void test_error_devices(void **state)
{
	(void)state;
	struct desc x = { .layers = { l1 }, .n_layers = 1,
		          .mounts = { { .kind = MOUNT_DEVICES, .devices = DEVICE_NULL } },
		          .n_mounts = 1 };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (devices): device null needs /dev/null in the layers; add it "
	                    "with a stubs layer such as { \"stubs\": [\"/dev/null\"] }");
	/* null is there, zero is not */
	x.layers[0] = l0;
	x.mounts[0].devices = DEVICE_NULL | DEVICE_ZERO;
	assert_string_equal(compile_error(&x),
	                    "mount 0 (devices): device zero needs /dev/zero in the layers; add it "
	                    "with a stubs layer such as { \"stubs\": [\"/dev/zero\"] }");
}

static void test_error_bind_local_path(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1,
		          .mounts = { { .kind = MOUNT_BIND, .mount_point = "/mnt",
		                        .local_path = "/nonexistent-h6" } },
		          .n_mounts = 1 };
	assert_string_equal(compile_error(&x),
	                    "mount 0 (bind): local path /nonexistent-h6: No such file or directory");
	x.mounts[0].local_path = "host";
	assert_string_equal(compile_error(&x),
	                    "mount 0 (bind): local path host is relative, and there is no project "
	                    "directory to take it from");
	x.bind_base = base;
	x.mounts[0].local_path = "nope";
	assert_string_equal(compile_error(&x),
	                    "mount 0 (bind): local path T/nope: No such file or directory");
	x.mounts[0].local_path = NULL;
	assert_string_equal(compile_error(&x), "mount 0 (bind): local_path is missing");
}

static void test_error_layers_and_scratch(void **state)
{
	(void)state;
	struct desc x = { .n_layers = 0 };
	assert_string_equal(compile_error(&x), "a container needs at least one layer");
	x.layers[0] = l0;
	x.layers[1] = "/nonexistent-h6-layer";
	x.n_layers = 2;
	assert_string_equal(compile_error(&x),
	                    "layer 1: directory /nonexistent-h6-layer: No such file or directory");
	x.layers[1] = "relative";
	assert_string_equal(compile_error(&x), "layer 1: directory relative is not an absolute path");
	x.layers[1] = "/a:b";
	assert_string_equal(compile_error(&x),
	                    "layer 1: directory /a:b contains ',', ':', '\\' or a newline, which "
	                    "overlayfs options cannot carry; move it");
	x.layers[1] = hostfile;
	assert_string_equal(compile_error(&x), "layer 1: T/host/file: Not a directory");
	char inside[PATH_MAX];
	path_join(inside, scratch, "/in");
	assert_int_equal(mkdir(inside, 0755), 0);
	x.layers[1] = inside;
	assert_string_equal(compile_error(&x), "layer 1: directory T/scratch/in is inside the scratch "
	                    "directory T/scratch, which the container's root covers");
	x.n_layers = 1;
	x.mounts[0] = (struct mount_spec){ .kind = MOUNT_BIND, .mount_point = "/mnt",
		                           .local_path = inside };
	x.n_mounts = 1;
	assert_string_equal(compile_error(&x), "mount 0 (bind): local path T/scratch/in is inside "
	                    "the scratch directory T/scratch, which the container's root covers");
	rmdir(inside);

	struct container_desc d = { .layer_dirs = x.layers, .n_layer_dirs = 1 };
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	assert_int_equal(mount_plan_compile(&p, &d, "/nonexistent-h6-scratch", &e), -1);
	assert_string_equal(err_msg(e), "scratch: directory /nonexistent-h6-scratch: No such file "
	                    "or directory");
	err_free(&e);
}

static void test_error_too_many_layers(void **state)
{
	(void)state;
	/* A long layer path, repeated until the overlay options outgrow a page. */
	char deep[PATH_MAX];
	path_join(deep, base, "/");
	size_t n = strlen(deep);
	memset(deep + n, 'd', 200);
	deep[n + 200] = '\0';
	assert_int_equal(mkdir(deep, 0755), 0);
	const char *layers[40];
	for (size_t i = 0; i < 40; i++)
		layers[i] = deep;
	struct container_desc d = { .layer_dirs = layers, .n_layer_dirs = 40 };
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	assert_int_equal(mount_plan_compile(&p, &d, scratch, &e), -1);
	assert_non_null(strstr(err_msg(e), "too many layers for one overlay mount"));
	err_free(&e);
	d.n_layer_dirs = 10;
	assert_int_equal(mount_plan_compile(&p, &d, scratch, &e), 0);
	mount_plan_free(p);
	rmdir(deep);
}

/* ---- accessors and hash ------------------------------------------------------------- */

static void test_accessors(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0 }, .n_layers = 1, .network = NETWORK_LOOPBACK,
		          .user = 7, .group = 8, .mounts = { M(MOUNT_TMP, "/tmp") }, .n_mounts = 1 };
	struct container_desc d = to_desc(&x);
	struct mount_plan *p = NULL;
	struct err *e = NULL;
	assert_int_equal(mount_plan_compile(&p, &d, scratch, &e), 0);
	assert_int_equal(mount_plan_network(p), NETWORK_LOOPBACK);
	size_t len;
	char want[64];
	snprintf(want, sizeof(want), "7 %u 1\n", (unsigned)geteuid());
	assert_string_equal(mount_plan_uid_map(p, &len), want);
	assert_int_equal(len, strlen(want));
	snprintf(want, sizeof(want), "8 %u 1\n", (unsigned)getegid());
	assert_string_equal(mount_plan_gid_map(p, &len), want);
	assert_int_equal(mount_plan_op_count(p), 4);
	assert_string_equal(mount_plan_op_what(p, 2), "mount tmp on /tmp");
	assert_false(mount_plan_op_is_spec_error(p, 2, ENOENT));   /* checked at compile */
	assert_string_equal(mount_plan_op_what(p, 99), "(no such plan operation)");
	mount_plan_free(p);
	mount_plan_free(NULL);
}

static void test_hash(void **state)
{
	(void)state;
	struct desc x = { .layers = { l0, l1 }, .n_layers = 2,
		          .mounts = { M(MOUNT_TMP, "/tmp"),
		                      { .kind = MOUNT_BIND, .mount_point = "/mnt", .local_path = "h" } },
		          .n_mounts = 2, .bind_base = "/b" };
	struct container_desc a = to_desc(&x);
	uint64_t h = container_desc_hash(&a);

	/* Equal content, different pointers: equal hash. */
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", l0);
	struct desc y = x;
	y.layers[0] = copy;
	struct container_desc b = to_desc(&y);
	assert_true(container_desc_hash(&b) == h);

	/* Every field counts. */
	struct desc z;
#define DIFFERS(change) do { z = x; change; struct container_desc c = to_desc(&z); \
		assert_true(container_desc_hash(&c) != h); } while (0)
	DIFFERS(z.n_layers = 1);
	DIFFERS(z.layers[1] = l2);
	DIFFERS((z.layers[0] = l1, z.layers[1] = l0));
	DIFFERS(z.n_mounts = 1);
	DIFFERS(z.mounts[0].mount_point = "/tmq");
	DIFFERS(z.mounts[0].kind = MOUNT_PROC);
	DIFFERS(z.mounts[1].local_path = "i");
	DIFFERS(z.mounts[1].read_only = true);
	DIFFERS(z.mounts[0].devices = DEVICE_NULL);
	DIFFERS(z.network = NETWORK_LOOPBACK);
	DIFFERS(z.writable = true);
	DIFFERS(z.user = 1);
	DIFFERS(z.group = 1);
	DIFFERS(z.bind_base = "/c");
	DIFFERS(z.bind_base = NULL);
#undef DIFFERS
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_layer_is_read_only_bind),
		cmocka_unit_test(test_layers_overlay_top_first),
		cmocka_unit_test(test_writable_root),
		cmocka_unit_test(test_every_mount_kind),
		cmocka_unit_test(test_mount_points_follow_symlinks_inside),
		cmocka_unit_test(test_below_earlier_mount_checked_at_run_time),
		cmocka_unit_test(test_overlay_lookup_rules),
		cmocka_unit_test(test_error_missing_mount_point),
		cmocka_unit_test(test_error_sys_and_local_network),
		cmocka_unit_test(test_error_mount_point_not_absolute),
		cmocka_unit_test(test_error_mount_point_kind),
		cmocka_unit_test(test_error_symlink_loop),
		cmocka_unit_test(test_error_devices),
		cmocka_unit_test(test_error_bind_local_path),
		cmocka_unit_test(test_error_layers_and_scratch),
		cmocka_unit_test(test_error_too_many_layers),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_hash),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
