/* Unit tests for runners/directives: the test runners' spec files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "core/spec_json.h"
#include "runners/directives.h"

#define DEF "(built-in default)"

/* ---- a fake test: cargo-like fields; NULL means "not known" -------------- */

struct tcase {
	const char *package;
	const char *name;
	const char *kind;      /* library, binary, test, benchmark, example */
	const char *target;
	const char *file;      /* pytest */
	const char *markers;   /* pytest, '\n'-joined */
};

static const char *lookup(void *arg, const char *sel)
{
	const struct tcase *t = arg;
	if (strcmp(sel, "package") == 0)
		return t->package;
	if (strcmp(sel, "name") == 0)
		return t->name;
	if (strcmp(sel, "file") == 0)
		return t->file;
	if (strcmp(sel, "markers") == 0)
		return t->markers;
	if (strcmp(sel, "node_id") == 0)
		return t->name;
	return t->target; /* binary, test, benchmark, example */
}

static bool simple(void *arg, const char *sel, bool *known)
{
	const struct tcase *t = arg;
	if (!t->kind) {
		*known = false;
		return false;
	}
	return strcmp(t->kind, sel) == 0;
}

static const struct tcase any_test = { "pkg", "mod::t", "library", "pkg", "t.py", "" };

/* ---- helpers --------------------------------------------------------------- */

static struct directives *load_fl(const char *text, const struct filter_flavor *fl)
{
	struct directives *d = NULL;
	struct err *e = NULL;
	if (directives_load(&d, NULL, text, fl, &e) < 0)
		fail_msg("unexpected error: %s", err_msg(e));
	assert_non_null(d);
	return d;
}

static struct directives *load(const char *text)
{
	return load_fl(text, &filter_flavor_cargo);
}

static void apply(const struct directives *d, const struct tcase *t, struct directive_result *r)
{
	struct err *e = NULL;
	if (directives_apply(d, lookup, simple, (void *)t, r, &e) < 0)
		fail_msg("unexpected apply error: %s", err_msg(e));
}

/* Loads text, applies it to t, returns the result. */
static void load_apply(const char *text, const struct tcase *t, struct directive_result *r)
{
	struct directives *d = load(text);
	apply(d, t, r);
	directives_free(d);
}

/* Expects loading text to fail with exactly msg. */
static void check_error_fl(const char *text, const struct filter_flavor *fl, const char *msg)
{
	struct directives *d = (struct directives *)(uintptr_t)1;
	struct err *e = NULL;
	assert_int_equal(directives_load(&d, NULL, text, fl, &e), -1);
	assert_null(d);
	assert_non_null(e);
	if (strcmp(err_msg(e), msg) != 0)
		fail_msg("message:\n  got  %s\n  want %s", err_msg(e), msg);
	err_free(&e);
}

static void check_error(const char *text, const char *msg)
{
	check_error_fl(text, &filter_flavor_cargo, msg);
}

/* The result's container as canonical job-spec JSON (program "p"). */
static char *container_json(const struct directive_result *r)
{
	struct job_spec js = { .container = r->container, .program = (char *)"p" };
	json_t *j = job_spec_to_json(&js);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static void check_container(const struct directive_result *r, const char *want)
{
	char *s = container_json(r);
	if (strcmp(s, want) != 0)
		fail_msg("container:\n  got  %s\n  want %s", s, want);
	free(s);
}

static const char *env_value(const struct env_spec *e, const char *name)
{
	for (size_t i = 0; i < e->n_vars; i++)
		if (strcmp(e->vars[i].name, name) == 0)
			return e->vars[i].value;
	return NULL;
}

/* ---- the built-in texts ------------------------------------------------------- */

static void test_default_text(void **state)
{
	(void)state;
	struct directive_result r;
	load_apply(directives_default_text(&filter_flavor_cargo), &any_test, &r);
	assert_null(r.container.image.name);
	assert_int_equal(r.container.n_layers, 1);
	assert_int_equal(r.container.layers[0].kind, LAYER_STUBS);
	assert_int_equal(r.container.layers[0].n_paths, 2);
	assert_string_equal(r.container.layers[0].paths[0], "/{proc,sys,tmp}/");
	assert_string_equal(r.container.layers[0].paths[1], "/dev/{full,null,random,urandom,zero}");
	assert_int_equal(r.container.n_mounts, 4);
	assert_int_equal(r.container.mounts[0].kind, MOUNT_TMP);
	assert_string_equal(r.container.mounts[0].mount_point, "/tmp");
	assert_int_equal(r.container.mounts[1].kind, MOUNT_PROC);
	assert_int_equal(r.container.mounts[2].kind, MOUNT_SYS);
	assert_int_equal(r.container.mounts[3].kind, MOUNT_DEVICES);
	assert_int_equal(r.container.mounts[3].devices, DEVICE_FULL | DEVICE_NULL | DEVICE_RANDOM |
								DEVICE_URANDOM | DEVICE_ZERO);
	assert_int_equal(r.container.n_environment, 0);
	assert_int_equal(r.container.network, NETWORK_DISABLED);
	assert_false(r.container.enable_writable_file_system);
	assert_null(r.container.working_directory);
	assert_int_equal(r.container.user, 0);
	assert_int_equal(r.timeout_s, 0);
	assert_false(r.ignore);
	assert_true(r.include_shared_libraries);
	directive_result_release(&r);
	/* pytest: the book gives the same default */
	struct directives *d = load_fl(directives_default_text(&filter_flavor_pytest),
				       &filter_flavor_pytest);
	assert_int_equal(directives_count(d), 1);
	directives_free(d);
}

/* --init's file loads to the same directives as the default. */
static void test_init_text_matches_default(void **state)
{
	(void)state;
	const struct filter_flavor *fls[] = { &filter_flavor_cargo, &filter_flavor_pytest };
	for (size_t i = 0; i < 2; i++) {
		struct directives *a = load_fl(directives_default_text(fls[i]), fls[i]);
		struct directives *b = load_fl(directives_init_text(fls[i]), fls[i]);
		assert_int_equal(directives_count(a), directives_count(b));
		struct directive_result ra, rb;
		apply(a, &any_test, &ra);
		apply(b, &any_test, &rb);
		char *ja = container_json(&ra), *jb = container_json(&rb);
		assert_string_equal(ja, jb);
		assert_int_equal(ra.include_shared_libraries, rb.include_shared_libraries);
		assert_int_equal(ra.timeout_s, rb.timeout_s);
		assert_int_equal(ra.ignore, rb.ignore);
		free(ja);
		free(jb);
		directive_result_release(&ra);
		directive_result_release(&rb);
		directives_free(a);
		directives_free(b);
	}
	assert_ptr_not_equal(directives_init_text(&filter_flavor_cargo),
			     directives_init_text(&filter_flavor_pytest));
	assert_non_null(strstr(directives_init_text(&filter_flavor_cargo), "cargo-maelstrom.toml"));
	assert_non_null(strstr(directives_init_text(&filter_flavor_pytest),
			       "maelstrom-pytest.toml"));
}

/* Uncomments the example lines ("# ...") after the examples marker. */
static char *uncomment_examples(const char *text)
{
	const char *marker = strstr(text, "# ---- Examples");
	assert_non_null(marker);
	const char *rest = strchr(marker, '\n');
	assert_non_null(rest);
	char *out = calloc(strlen(text) + 1, 1);
	assert_non_null(out);
	memcpy(out, text, (size_t)(rest + 1 - text));
	char *o = out + (rest + 1 - text);
	for (const char *p = rest + 1; *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol + 1 - p) : strlen(p);
		if (strncmp(p, "# ", 2) == 0) {
			p += 2;
			len -= 2;
		} else if (strncmp(p, "#\n", 2) == 0) {
			p += 1;
			len -= 1;
		}
		memcpy(o, p, len);
		o += len;
		p += len;
	}
	return out;
}

/* The commented-out examples are valid when uncommented. */
static void test_init_examples_are_valid(void **state)
{
	(void)state;
	char *cargo = uncomment_examples(directives_init_text(&filter_flavor_cargo));
	struct directives *d = load(cargo);
	assert_true(directives_count(d) >= 6);
	/* the tty example: base-with-pts inherits base and adds the pts bits */
	struct tcase tty = { "pkg", "tty::open", "library", "pkg", NULL, NULL };
	struct directive_result r;
	apply(d, &tty, &r);
	assert_int_equal(r.container.n_layers, 3);
	assert_int_equal(r.container.layers[2].kind, LAYER_SYMLINKS);
	assert_int_equal(r.container.n_mounts, 4);
	assert_int_equal(r.container.mounts[3].kind, MOUNT_DEVPTS);
	/* the parent (default `use`: everything) replaced the environment */
	assert_int_equal(r.container.n_environment, 0);
	directive_result_release(&r);
	apply(d, &any_test, &r);
	assert_int_equal(r.container.n_environment, 1);
	assert_string_equal(env_value(&r.container.environment[0], "RUST_BACKTRACE"),
			    "$env{RUST_BACKTRACE:-0}");
	assert_true(r.container.environment[0].extend);
	assert_int_equal(r.container.n_layers, 1);
	directive_result_release(&r);
	directives_free(d);
	free(cargo);

	char *py = uncomment_examples(directives_init_text(&filter_flavor_pytest));
	d = load_fl(py, &filter_flavor_pytest);
	struct tcase net = { "pkg", "test_x", NULL, NULL, "tests/a.py", "network\nslow" };
	apply(d, &net, &r);
	assert_int_equal(r.container.network, NETWORK_LOOPBACK);
	assert_int_equal(r.timeout_s, 120);
	assert_string_equal(r.container.image.name, "docker://python:3.12-slim");
	assert_false(r.include_shared_libraries);
	directive_result_release(&r);
	directives_free(d);
	free(py);
}

/* ---- fields ---------------------------------------------------------------------- */

static void test_every_field(void **state)
{
	(void)state;
	struct directive_result r;
	load_apply("[[directives]]\n"
		   "filter = \"package.equals(pkg)\"\n"
		   "include_shared_libraries = false\n"
		   "timeout = 60\n"
		   "ignore = true\n"
		   "layers = [\n"
		   "  { tar = \"layers/foo.tar\" },\n"
		   "  { paths = [\"a/b.bin\", \"a/c.bin\"], strip_prefix = \"a/\" },\n"
		   "  { glob = \"b/**\", strip_prefix = \"b/\", canonicalize = true },\n"
		   "  { stubs = [\"/dev/{null,full}\", \"/proc/\"] },\n"
		   "  { symlinks = [{ link = \"/dev/stdout\", target = \"/proc/self/fd/1\" }] },\n"
		   "  { shared-library-dependencies = [\"/bin/bash\"], prepend_prefix = \"/usr\","
		   " follow_symlinks = true },\n"
		   "]\n"
		   "environment = { USER = \"bob\", RUST_BACKTRACE = \"$env{RUST_BACKTRACE:-0}\" }\n"
		   "mounts = [\n"
		   "  { type = \"bind\", mount_point = \"/mnt\", local_path = \"data\", "
		   "read_only = true },\n"
		   "  { type = \"devices\", devices = [\"fuse\", \"shm\", \"tty\"] },\n"
		   "  { type = \"devpts\", mount_point = \"/dev/pts\" },\n"
		   "  { type = \"mqueue\", mount_point = \"/dev/mqueue\" },\n"
		   "]\n"
		   "network = \"local\"\n"
		   "enable_writable_file_system = true\n"
		   "working_directory = \"/home/root/\"\n"
		   "user = 1000\n"
		   "group = 4294967295\n",
		   &any_test, &r);
	assert_false(r.include_shared_libraries);
	assert_int_equal(r.timeout_s, 60);
	assert_true(r.ignore);
	check_container(&r,
			"{\"program\":\"p\",\"environment\":[{\"vars\":{\"RUST_BACKTRACE\":"
			"\"$env{RUST_BACKTRACE:-0}\",\"USER\":\"bob\"},\"extend\":false}],"
			"\"layers\":[{\"tar\":\"layers/foo.tar\"},"
			"{\"paths\":[\"a/b.bin\",\"a/c.bin\"],\"strip_prefix\":\"a/\"},"
			"{\"glob\":\"b/**\",\"canonicalize\":true,\"strip_prefix\":\"b/\"},"
			"{\"stubs\":[\"/dev/{null,full}\",\"/proc/\"]},"
			"{\"symlinks\":[{\"link\":\"/dev/stdout\",\"target\":\"/proc/self/fd/1\"}]},"
			"{\"shared-library-dependencies\":[\"/bin/bash\"],\"follow_symlinks\":true,"
			"\"prepend_prefix\":\"/usr\"}],"
			"\"mounts\":[{\"type\":\"bind\",\"mount_point\":\"/mnt\",\"local_path\":"
			"\"data\",\"read_only\":true},{\"type\":\"devices\",\"devices\":[\"fuse\","
			"\"shm\",\"tty\"]},{\"type\":\"devpts\",\"mount_point\":\"/dev/pts\"},"
			"{\"type\":\"mqueue\",\"mount_point\":\"/dev/mqueue\"}],"
			"\"network\":\"local\",\"enable_writable_file_system\":true,"
			"\"working_directory\":\"/home/root/\",\"user\":1000,\"group\":4294967295}");
	directive_result_release(&r);

	/* An empty file, and an empty directive, give the empty container. */
	load_apply("", &any_test, &r);
	check_container(&r, "{\"program\":\"p\",\"layers\":[]}");
	assert_true(r.include_shared_libraries);
	directive_result_release(&r);
	load_apply("[[directives]]\n", &any_test, &r);
	check_container(&r, "{\"program\":\"p\",\"layers\":[]}");
	directive_result_release(&r);
}

/* Later `layers`/`environment`/`mounts` replace, `added_*` append; scalars
 * override; timeout 0 clears a timeout. */
static void test_replace_and_add(void **state)
{
	(void)state;
	struct directive_result r;
	load_apply("[[directives]]\n"
		   "layers = [{ tar = \"a.tar\" }]\n"
		   "mounts = [{ type = \"tmp\", mount_point = \"/tmp\" }]\n"
		   "environment = { A = \"1\", B = \"2\" }\n"
		   "user = 5\n"
		   "timeout = 30\n"
		   "[[directives]]\n"
		   "added_layers = [{ tar = \"b.tar\" }]\n"
		   "added_mounts = [{ type = \"proc\", mount_point = \"/proc\" }]\n"
		   "added_environment = { B = \"$prev{B}3\" }\n"
		   "group = 6\n"
		   "[[directives]]\n"
		   "added_layers = [{ tar = \"c.tar\" }]\n"
		   "timeout = 0\n",
		   &any_test, &r);
	check_container(&r, "{\"program\":\"p\",\"environment\":["
			    "{\"vars\":{\"A\":\"1\",\"B\":\"2\"},\"extend\":false},"
			    "{\"vars\":{\"B\":\"$prev{B}3\"},\"extend\":true}],"
			    "\"layers\":[{\"tar\":\"a.tar\"},{\"tar\":\"b.tar\"},{\"tar\":\"c.tar\"}],"
			    "\"mounts\":[{\"type\":\"tmp\",\"mount_point\":\"/tmp\"},"
			    "{\"type\":\"proc\",\"mount_point\":\"/proc\"}],\"user\":5,\"group\":6}");
	assert_int_equal(r.timeout_s, 0);
	directive_result_release(&r);

	load_apply("[[directives]]\n"
		   "layers = [{ tar = \"a.tar\" }, { tar = \"b.tar\" }]\n"
		   "mounts = [{ type = \"tmp\", mount_point = \"/tmp\" }]\n"
		   "environment = { VAR = \"foo\", OTHER = \"x\" }\n"
		   "user = 5\n"
		   "[[directives]]\n"
		   "layers = [{ tar = \"c.tar\" }]\n"
		   "added_layers = [{ tar = \"d.tar\" }]\n"
		   "mounts = []\n"
		   "environment = { VAR = \"bar\" }\n"
		   "added_environment = { VAR = \"$prev{VAR}\" }\n"
		   "user = 7\n",
		   &any_test, &r);
	check_container(&r, "{\"program\":\"p\",\"environment\":["
			    "{\"vars\":{\"VAR\":\"bar\"},\"extend\":false},"
			    "{\"vars\":{\"VAR\":\"$prev{VAR}\"},\"extend\":true}],"
			    "\"layers\":[{\"tar\":\"c.tar\"},{\"tar\":\"d.tar\"}],\"user\":7}");
	directive_result_release(&r);

	/* The explicit environment form, in both fields. */
	load_apply("[[directives]]\n"
		   "environment = [{ vars = { A = \"1\" }, extend = true }]\n"
		   "added_environment = [\n"
		   "  { vars = { PATH = \"/x:$prev{PATH}\" }, extend = false },\n"
		   "  { vars = { U = \"bob\" }, extend = true },\n"
		   "]\n",
		   &any_test, &r);
	assert_int_equal(r.container.n_environment, 3);
	assert_true(r.container.environment[0].extend);
	assert_false(r.container.environment[1].extend);
	assert_string_equal(env_value(&r.container.environment[1], "PATH"), "/x:$prev{PATH}");
	assert_true(r.container.environment[2].extend);
	directive_result_release(&r);
}

/* Filters pick the directives; the others are skipped. */
static void test_filters_select(void **state)
{
	(void)state;
	struct directives *d = load("[[directives]]\n"
				    "group = 202\n"
				    "[[directives]]\n"
				    "filter = \"package.equals(package1)\"\n"
				    "network = \"loopback\"\n"
				    "[[directives]]\n"
				    "enable_writable_file_system = true\n"
				    "[[directives]]\n"
				    "filter = \"package.equals(package1) && name.equals(test1)\"\n"
				    "user = 101\n"
				    "ignore = true\n"
				    "[[directives]]\n"
				    "filter = \"test\"\n"
				    "timeout = 9\n");
	assert_int_equal(directives_count(d), 5);
	struct tcase t0 = { "package0", "test1", "library", "package0", NULL, NULL };
	struct tcase t1 = { "package1", "test0", "library", "package1", NULL, NULL };
	struct tcase t2 = { "package1", "test1", "test", "integ", NULL, NULL };
	struct directive_result r;
	apply(d, &t0, &r);
	check_container(&r, "{\"program\":\"p\",\"layers\":[],"
			    "\"enable_writable_file_system\":true,\"group\":202}");
	assert_false(r.ignore);
	assert_int_equal(r.timeout_s, 0);
	directive_result_release(&r);
	apply(d, &t1, &r);
	check_container(&r, "{\"program\":\"p\",\"layers\":[],\"network\":\"loopback\","
			    "\"enable_writable_file_system\":true,\"group\":202}");
	directive_result_release(&r);
	apply(d, &t2, &r);
	check_container(&r, "{\"program\":\"p\",\"layers\":[],\"network\":\"loopback\","
			    "\"enable_writable_file_system\":true,\"user\":101,\"group\":202}");
	assert_true(r.ignore);
	assert_int_equal(r.timeout_s, 9);
	directive_result_release(&r);

	/* A filter that cannot be decided is an error, naming the directive. */
	struct tcase unknown = { NULL, "test1", "library", "x", NULL, NULL };
	struct err *e = NULL;
	r.timeout_s = 77;
	assert_int_equal(directives_apply(d, lookup, simple, &unknown, &r, &e), -1);
	assert_string_equal(err_msg(e), "directives[1]: cannot tell whether filter "
					"`package.equals(package1)` matches this test: some "
					"selector's value is unknown");
	assert_int_equal(r.timeout_s, 0);
	assert_int_equal(r.container.n_layers, 0);
	err_free(&e);
	directives_free(d);

	/* pytest flavor: its selectors, and cargo's are refused. */
	d = load_fl("[[directives]]\nfilter = \"markers.contains(slow)\"\ntimeout = 600\n",
		    &filter_flavor_pytest);
	struct tcase slow = { "pkg", "test_a", NULL, NULL, "tests/a.py", "slow" };
	struct tcase fast = { "pkg", "test_b", NULL, NULL, "tests/a.py", "" };
	apply(d, &slow, &r);
	assert_int_equal(r.timeout_s, 600);
	directive_result_release(&r);
	apply(d, &fast, &r);
	assert_int_equal(r.timeout_s, 0);
	directive_result_release(&r);
	directives_free(d);
}

static void test_include_shared_libraries(void **state)
{
	(void)state;
	struct directives *d = load("[[directives]]\n"
				    "filter = \"name.equals(t1)\"\n"
				    "layers = [{ tar = \"l.tar\" }]\n"
				    "[[directives]]\n"
				    "filter = \"name.equals(t2)\"\n"
				    "image = \"foo\"\n"
				    "[[directives]]\n"
				    "filter = \"name.equals(t3)\"\n"
				    "image = \"foo\"\n"
				    "include_shared_libraries = true\n"
				    "[[directives]]\n"
				    "filter = \"name.equals(t4)\"\n"
				    "include_shared_libraries = false\n");
	const char *names[] = { "t1", "t2", "t3", "t4" };
	bool want[] = { true, false, true, false };
	for (size_t i = 0; i < 4; i++) {
		struct tcase t = { "p", names[i], "library", "p", NULL, NULL };
		struct directive_result r;
		apply(d, &t, &r);
		assert_int_equal(r.include_shared_libraries, want[i]);
		directive_result_release(&r);
	}
	directives_free(d);
}

/* ---- images ------------------------------------------------------------------- */

static void test_images(void **state)
{
	(void)state;
	struct directive_result r;
	/* All five spellings of the book (fields.md) mean the same. */
	const char *forms[] = {
		"image.name = \"docker://rust\"\nimage.use = [\"layers\", \"environment\"]\n",
		"image = { name = \"docker://rust\", use = [\"layers\", \"environment\"] }\n",
		"image.name = \"docker://rust\"\n",
		"image = { name = \"docker://rust\" }\n",
		"image = \"docker://rust\"\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "[[directives]]\nlayers = [{ tar = \"old.tar\" }]\n"
			 "[[directives]]\n%sadded_layers = [{ tar = \"x.tar\" }]\n", forms[i]);
		load_apply(text, &any_test, &r);
		check_container(&r, "{\"image\":{\"name\":\"docker://rust\",\"use\":[\"layers\","
				    "\"environment\"]},\"program\":\"p\","
				    "\"added_layers\":[{\"tar\":\"x.tar\"}]}");
		assert_false(r.include_shared_libraries);
		directive_result_release(&r);
	}
	/* use of working_directory; the image's layers unused, so `layers` kept. */
	load_apply("[[directives]]\n"
		   "layers = [{ tar = \"a.tar\" }]\n"
		   "working_directory = \"/w\"\n"
		   "environment = { A = \"1\" }\n"
		   "[[directives]]\n"
		   "image = { name = \"img\", use = [\"working_directory\", \"environment\"] }\n"
		   "added_environment = { PATH = \"/s:$prev{PATH}\" }\n",
		   &any_test, &r);
	check_container(&r, "{\"image\":{\"name\":\"img\",\"use\":[\"environment\","
			    "\"working_directory\"]},\"program\":\"p\",\"environment\":[{\"vars\":"
			    "{\"PATH\":\"/s:$prev{PATH}\"},\"extend\":true}],"
			    "\"layers\":[{\"tar\":\"a.tar\"}]}");
	directive_result_release(&r);
	/* Setting a field under a default `use` stops inheriting it ... */
	load_apply("[[directives]]\nimage = \"img\"\nlayers = [{ tar = \"a.tar\" }]\n",
		   &any_test, &r);
	check_container(&r, "{\"image\":{\"name\":\"img\",\"use\":[\"environment\"]},"
			    "\"program\":\"p\",\"layers\":[{\"tar\":\"a.tar\"}]}");
	directive_result_release(&r);
	/* ... and a later directive's fields replace what came from the image; an
	 * image no field uses any more is dropped. */
	load_apply("[[directives]]\nimage = \"img\"\n"
		   "[[directives]]\nlayers = []\nenvironment = {}\n",
		   &any_test, &r);
	assert_null(r.container.image.name);
	assert_true(r.include_shared_libraries);
	directive_result_release(&r);
	/* A different image: what came from the first one starts over. */
	load_apply("[[directives]]\nimage = { name = \"one\", use = [\"environment\"] }\n"
		   "added_environment = { A = \"1\" }\n"
		   "[[directives]]\nimage = { name = \"two\", use = [\"layers\"] }\n",
		   &any_test, &r);
	check_container(&r, "{\"image\":{\"name\":\"two\",\"use\":[\"layers\"]},"
			    "\"program\":\"p\"}");
	directive_result_release(&r);
}

/* ---- named containers ---------------------------------------------------------------- */

/* The book's format.md example, containers defined after their use. */
static const char book_example[] =
	"[[directives]]\n"
	"filter = \"package.equals(maelstrom-worker) && name.starts_with(executor::)\"\n"
	"parent = \"executor\"\n"
	"\n"
	"[[directives]]\n"
	"filter = \"package.equals(maelstrom-worker) && name.starts_with(executor::tests::tty_)\"\n"
	"parent = \"executor-with-pts\"\n"
	"\n"
	"[containers.executor-with-pts]\n"
	"parent = \"executor\"\n"
	"added_layers = [\n"
	"    { stubs = [ \"dev/pts/\" ] },\n"
	"    { symlinks = [ { link = \"/dev/ptmx\", target = \"/dev/pts/ptmx\" } ] },\n"
	"]\n"
	"added_mounts = [\n"
	"    { type = \"devpts\", mount_point = \"/dev/pts\" },\n"
	"]\n"
	"\n"
	"[containers.executor]\n"
	"layers = [\n"
	"    { stubs = [ \"{proc,tmp}/\", \"dev/{null,random,urandom,zero}\" ] },\n"
	"]\n"
	"mounts = [\n"
	"    { type = \"tmp\", mount_point = \"/tmp\" },\n"
	"    { type = \"proc\", mount_point = \"/proc\" },\n"
	"    { type = \"devices\", devices = [\"null\", \"random\", \"urandom\", \"zero\"] },\n"
	"]\n";

static void test_containers(void **state)
{
	(void)state;
	struct directives *d = load(book_example);
	struct tcase exec = { "maelstrom-worker", "executor::run", "library", "w", NULL, NULL };
	struct tcase tty = { "maelstrom-worker", "executor::tests::tty_a", "library", "w", NULL,
			     NULL };
	struct tcase other = { "maelstrom-util", "x", "library", "u", NULL, NULL };
	struct directive_result r;
	apply(d, &exec, &r);
	assert_int_equal(r.container.n_layers, 1);
	assert_int_equal(r.container.n_mounts, 3);
	directive_result_release(&r);
	apply(d, &tty, &r);
	assert_int_equal(r.container.n_layers, 3);
	assert_int_equal(r.container.layers[1].kind, LAYER_STUBS);
	assert_string_equal(r.container.layers[1].paths[0], "dev/pts/");
	assert_int_equal(r.container.layers[2].kind, LAYER_SYMLINKS);
	assert_int_equal(r.container.n_mounts, 4);
	assert_int_equal(r.container.mounts[3].kind, MOUNT_DEVPTS);
	assert_true(r.include_shared_libraries);
	directive_result_release(&r);
	apply(d, &other, &r);
	check_container(&r, "{\"program\":\"p\",\"layers\":[]}");
	directive_result_release(&r);
	directives_free(d);

	/* A parent's `use` picks fields; the rest are defaults in a container and
	 * keep their values in a directive. An image passes through containers. */
	load_apply("[containers.base]\n"
		   "image = { name = \"img\", use = [\"layers\"] }\n"
		   "added_layers = [{ tar = \"base.tar\" }]\n"
		   "network = \"loopback\"\n"
		   "user = 9\n"
		   "[containers.mid]\n"
		   "parent = { name = \"base\", use = [\"layers\", \"user\"] }\n"
		   "group = 3\n"
		   "[[directives]]\n"
		   "mounts = [{ type = \"tmp\", mount_point = \"/tmp\" }]\n"
		   "network = \"local\"\n"
		   "[[directives]]\n"
		   "parent.name = \"mid\"\n"
		   "parent.use = [\"layers\", \"user\", \"network\"]\n",
		   &any_test, &r);
	check_container(&r, "{\"image\":{\"name\":\"img\",\"use\":[\"layers\"]},"
			    "\"program\":\"p\",\"added_layers\":[{\"tar\":\"base.tar\"}],"
			    "\"mounts\":[{\"type\":\"tmp\",\"mount_point\":\"/tmp\"}],\"user\":9}");
	assert_false(r.include_shared_libraries);
	directive_result_release(&r);

	/* A parent with the default `use` passes everything; a field written
	 * next to it replaces the inherited one. */
	load_apply("[containers.c]\n"
		   "layers = [{ tar = \"c.tar\" }]\n"
		   "environment = { A = \"a\" }\n"
		   "working_directory = \"/c\"\n"
		   "enable_writable_file_system = true\n"
		   "group = 4\n"
		   "[[directives]]\n"
		   "parent = \"c\"\n"
		   "layers = [{ tar = \"mine.tar\" }]\n"
		   "added_environment = { B = \"b\" }\n",
		   &any_test, &r);
	check_container(&r, "{\"program\":\"p\",\"environment\":["
			    "{\"vars\":{\"A\":\"a\"},\"extend\":false},"
			    "{\"vars\":{\"B\":\"b\"},\"extend\":true}],"
			    "\"layers\":[{\"tar\":\"mine.tar\"}],\"enable_writable_file_system\":true,"
			    "\"working_directory\":\"/c\",\"group\":4}");
	directive_result_release(&r);

	/* Containers alone apply to nothing. */
	d = load("[containers.unused]\nuser = 1\n");
	assert_int_equal(directives_count(d), 0);
	apply(d, &any_test, &r);
	assert_int_equal(r.container.user, 0);
	directive_result_release(&r);
	directives_free(d);
}

/* ---- errors -------------------------------------------------------------------------- */

static void test_errors_top_level(void **state)
{
	(void)state;
	check_error("directive = 1\n",
		    DEF ":1:13: unknown field `directive` (did you mean `directives`?)");
	check_error("[other]\n",
		    DEF ":1:1: unknown field `other`: expected one of `directives` or "
			"`containers`");
	check_error("directives = 1\n",
		    DEF ":1:14: field `directives`: expected an array of tables: start each "
			"directive with a [[directives]] line");
	check_error("directives = [1]\n",
		    DEF ":1:15: field `directives[0]`: expected a table (write each directive "
			"as a [[directives]] section)");
	check_error("containers = 1\n",
		    DEF ":1:14: field `containers`: expected a table of named containers, e.g. "
			"[containers.NAME]");
	check_error("[containers]\nx = 1\n",
		    DEF ":2:5: field `containers.x`: expected a table of container fields");
	/* TOML syntax errors come through as they are. */
	check_error("[[directives]]\nfilter = \n",
		    DEF ":2:10: expected a value for key `filter`, found end of line; a value is "
			"a \"string\", a number, true, false, an [array] or an { inline = "
			"\"table\" }");
}

static void test_errors_directive_fields(void **state)
{
	(void)state;
	check_error("[[directives]]\nnetwork = \"loopback\"\n\n[[directives]]\nfiltr = \"all\"\n",
		    DEF ":5:9: unknown field `directives[1].filtr` (did you mean `filter`?)");
	check_error("[[directives]]\nfilter = \"package.equals(x) &&\"\n",
		    DEF ":2:10: field `directives[0].filter`: filter `package.equals(x) &&`: "
			"expected a selector, `!` or `(` at column 21, found the end of the filter");
	check_error("[[directives]]\nfilter = \"markers.contains(x)\"\n",
		    DEF ":2:10: field `directives[0].filter`: filter `markers.contains(x)`: "
			"unknown selector `markers` at column 1; selectors: name, binary, benchmark, "
			"example, test, package");
	check_error("[[directives]]\nfilter = 3\n",
		    DEF ":2:10: field `directives[0].filter`: expected a string holding a filter "
			"pattern");
	check_error("[[directives]]\nignore = \"yes\"\n",
		    DEF ":2:10: field `directives[0].ignore`: expected true or false");
	check_error("[[directives]]\ninclude_shared_libraries = 1\n",
		    DEF ":2:28: field `directives[0].include_shared_libraries`: expected true or "
			"false");
	check_error("[[directives]]\ntimeout = -1\n",
		    DEF ":2:11: field `directives[0].timeout`: expected a non-negative integer, "
			"got -1");
	check_error("[[directives]]\ntimeout = 1.5\n",
		    DEF ":2:11: field `directives[0].timeout`: expected an integer, got 1.5");
	check_error("[[directives]]\nuser = 4294967296\n",
		    DEF ":2:8: field `directives[0].user`: 4294967296 is out of range (0 to "
			"4294967295)");
	check_error("[[directives]]\nnetwork = \"loopbak\"\n",
		    DEF ":2:11: field `directives[0].network`: unknown network `loopbak` (did "
			"you mean `loopback`?)");
	check_error("[[directives]]\nworking_directory = \"\"\n",
		    DEF ":2:21: field `directives[0].working_directory`: must not be empty");
}

static void test_errors_layers_mounts_env(void **state)
{
	(void)state;
	/* the brief's example: the layer's unknown key, at the key's value */
	check_error("[[directives]]\n"
		    "layers = [{ tar = \"x.tar\" }]\n"
		    "\n"
		    "[[directives]]\n"
		    "filter = \"all\"\n"
		    "layers = [\n"
		    "    { pths = [\"a\"] },\n"
		    "]\n",
		    DEF ":7:14: unknown field `directives[1].layers[0].pths` (did you mean "
			"`paths`?)");
	check_error("[[directives]]\nadded_layers = [{ paths = [\"a\", 3] }]\n",
		    DEF ":2:33: field `directives[0].added_layers[0].paths[1]`: expected a "
			"string, got a number");
	check_error("[[directives]]\nlayers = { tar = \"x\" }\n",
		    DEF ":2:10: field `directives[0].layers`: expected a list of layer objects, "
			"got an object");
	check_error("[[directives]]\nlayers = [{ stubs = [\"/dev/{a,b\"] }]\n",
		    DEF ":2:22: field `directives[0].layers[0].stubs[0]`: unmatched `{` at column "
			"6 in `/dev/{a,b`: add the closing `}` or escape it as `\\{`");
	check_error("[[directives]]\nmounts = [{ type = \"proc\" }]\n",
		    DEF ":2:11: missing field `directives[0].mounts[0].mount_point`: give the "
			"absolute path inside the container to mount on");
	check_error("[[directives]]\nadded_mounts = [{ type = \"procfs\", mount_point = \"/p\" }]\n",
		    DEF ":2:26: field `directives[0].added_mounts[0].type`: unknown mount type "
			"`procfs`: expected `bind`, `devices`, `devpts`, `mqueue`, `proc`, `sys` or "
			"`tmp`");
	check_error("[[directives]]\nmounts = [{ type = \"devices\", devices = [\"nul\"] }]\n",
		    DEF ":2:42: field `directives[0].mounts[0].devices[0]`: unknown device `nul` "
			"(did you mean `null`?)");
	check_error("[[directives]]\nenvironment = { A = 1 }\n",
		    DEF ":2:21: field `directives[0].environment.A`: expected a string, got a "
			"number");
	check_error("[[directives]]\nadded_environment = [{ vars = {} }]\n",
		    DEF ":2:22: missing field `directives[0].added_environment[0].extend`: say "
			"whether these variables extend (true) or replace (false) the ones before");
}

static void test_errors_inheritance(void **state)
{
	(void)state;
	check_error("[[directives]]\nimage = \"i\"\nparent = \"c\"\n",
		    DEF ":3:10: field `directives[0].parent`: cannot be combined with `image`: a "
			"container inherits from either an image or a named container");
	check_error("[[directives]]\nimage = { name = \"i\", use = [\"layers\"] }\n"
		    "layers = [{ tar = \"x\" }]\n",
		    DEF ":3:10: field `directives[0].layers`: cannot be set when `image` has a "
			"`use` of `layers`: drop one of them (`added_*` fields add to what is "
			"inherited)");
	check_error("[[directives]]\nworking_directory = \"/w\"\n"
		    "image = { name = \"i\", use = [\"working_directory\"] }\n",
		    DEF ":2:21: field `directives[0].working_directory`: cannot be set when "
			"`image` has a `use` of `working_directory`: drop one of them");
	check_error("[containers.c]\nuser = 1\n[[directives]]\n"
		    "parent = { name = \"c\", use = [\"user\"] }\nuser = 2\n",
		    DEF ":5:8: field `directives[0].user`: cannot be set when `parent` has a "
			"`use` of `user`: drop one of them");
	check_error("[[directives]]\nimage = { name = \"i\", use = [\"layer\"] }\n",
		    DEF ":2:30: field `directives[0].image.use[0]`: an image cannot pass on "
			"`layer` (did you mean `layers`?)");
	check_error("[[directives]]\nimage = { name = \"i\", use = [\"mounts\"] }\n",
		    DEF ":2:30: field `directives[0].image.use[0]`: an image cannot pass on "
			"`mounts`; it passes on `layers`, `environment` and `working_directory`");
	check_error("[containers.c]\n[[directives]]\nparent = { name = \"c\", use = [\"lyers\"] }\n",
		    DEF ":3:31: field `directives[0].parent.use[0]`: a parent container cannot pass "
			"on `lyers` (did you mean `layers`?)");
	check_error("[containers.c]\n[[directives]]\nparent.name = \"c\"\nparent.use = [\"tty\"]\n",
		    DEF ":4:15: field `directives[0].parent.use[0]`: a parent container cannot pass "
			"on `tty`; it passes on `layers`, `environment`, `working_directory`, "
			"`enable_writable_file_system`, `mounts`, `network`, `user` and `group`");
	check_error("[[directives]]\nimage = { name = \"i\", use = [] }\n",
		    DEF ":2:29: field `directives[0].image.use`: expected a non-empty list of "
			"`layers`, `environment`, `working_directory`");
	check_error("[[directives]]\nimage = { use = [\"layers\"] }\n",
		    DEF ":2:9: field `directives[0].image`: missing `name`: say which image to "
			"use, e.g. \"docker://rust\"");
	check_error("[[directives]]\nimage = { name = \"i\", tag = \"x\" }\n",
		    DEF ":2:29: unknown field `directives[0].image.tag`: expected one of `name` "
			"or `use`");
	check_error("[[directives]]\nparent = 5\n",
		    DEF ":2:10: field `directives[0].parent`: expected a string or a table with "
			"`name` and `use`");
	check_error("[[directives]]\nparent = \"\"\n",
		    DEF ":2:10: field `directives[0].parent`: expected a non-empty string");
	check_error("[containers.executor]\nuser = 1\n[[directives]]\nparent = \"executr\"\n",
		    DEF ":4:10: field `directives[0].parent`: no container named `executr` (did "
			"you mean `executor`?)");
	check_error("[[directives]]\nparent = { name = \"nope\" }\n",
		    DEF ":2:19: field `directives[0].parent.name`: no container named `nope`: "
			"define it in a [containers.nope] table");
	check_error("[containers.a]\nparent = \"b\"\n[containers.b]\nparent = \"c\"\n"
		    "[containers.c]\nparent = \"a\"\n",
		    DEF ":2:10: field `containers.a.parent`: containers inherit from each other "
			"in a loop: a -> b -> c -> a");
	check_error("[containers.self]\nparent = \"self\"\n",
		    DEF ":2:10: field `containers.self.parent`: containers inherit from each "
			"other in a loop: self -> self");
}

static void test_errors_named_containers(void **state)
{
	(void)state;
	check_error("[containers.c]\nfilter = \"all\"\n",
		    DEF ":2:10: unknown field `containers.c.filter`: expected one of `image`, "
			"`parent`, `layers`, `added_layers`, `environment`, `added_environment`, "
			"`mounts`, `added_mounts`, `network`, `enable_writable_file_system`, "
			"`working_directory`, `user` or `group`");
	check_error("[containers.c]\nadded_layers = [{ tar = \"x\" }]\n",
		    DEF ":2:16: field `containers.c.added_layers`: needs an `image` or `parent` "
			"whose `use` includes `layers`, to add to; write `layers` instead");
	check_error("[containers.p]\nuser = 1\n[containers.c]\n"
		    "parent = { name = \"p\", use = [\"user\"] }\n"
		    "added_mounts = [{ type = \"tmp\", mount_point = \"/tmp\" }]\n",
		    DEF ":5:16: field `containers.c.added_mounts`: needs an `image` or `parent` "
			"whose `use` includes `mounts`, to add to; write `mounts` instead");
	check_error("[containers.c]\nimage = \"i\"\nenvironment = { A = \"1\" }\n"
		    "added_environment = { B = \"2\" }\n",
		    DEF ":4:21: field `containers.c.added_environment`: cannot be combined with "
			"`environment`: put these entries at the end of `environment` instead");
	/* Directives may combine them (book: fields.md, added_environment). */
	struct directives *d = load("[[directives]]\nimage = \"i\"\nenvironment = { A = \"1\" }\n"
				    "added_environment = { B = \"2\" }\n");
	directives_free(d);
	check_error("[containers.\"a/b~\"]\nuser = \"x\"\n",
		    DEF ":2:8: field `containers.a/b~.user`: expected an integer, got a string");
}

/* A file on disk: its path in messages, and the missing-file error. */
static void test_file(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/test_directives.XXXXXX", tmp);
	assert_non_null(mkdtemp(dir));
	char path[4200];
	snprintf(path, sizeof(path), "%s/cargo-maelstrom.toml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[[directives]]\nfilter = \"package.equals(p)\"\nuser = 1000\n", f);
	fclose(f);
	struct directives *d = NULL;
	struct err *e = NULL;
	assert_int_equal(directives_load(&d, path, "ignored = 1", &filter_flavor_cargo, &e), 0);
	struct tcase t = { "p", "n", "library", "p", NULL, NULL };
	struct directive_result r;
	apply(d, &t, &r);
	assert_int_equal(r.container.user, 1000);
	directive_result_release(&r);
	directives_free(d);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[[directives]]\nuser = true\n", f);
	fclose(f);
	assert_int_equal(directives_load(&d, path, NULL, &filter_flavor_cargo, &e), -1);
	char want[8400];
	snprintf(want, sizeof(want), "%s:2:8: field `directives[0].user`: expected an integer, "
				     "got a boolean", path);
	assert_string_equal(err_msg(e), want);
	err_free(&e);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(directives_load(&d, path, NULL, &filter_flavor_cargo, &e), -1);
	assert_null(d);
	assert_non_null(strstr(err_msg(e), "cargo-maelstrom.toml"));
	err_free(&e);
	assert_int_equal(rmdir(dir), 0);

	directives_free(NULL);
	directive_result_release(NULL);
	assert_int_equal(directives_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_text),
		cmocka_unit_test(test_init_text_matches_default),
		cmocka_unit_test(test_init_examples_are_valid),
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_replace_and_add),
		cmocka_unit_test(test_filters_select),
		cmocka_unit_test(test_include_shared_libraries),
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_errors_top_level),
		cmocka_unit_test(test_errors_directive_fields),
		cmocka_unit_test(test_errors_layers_mounts_env),
		cmocka_unit_test(test_errors_inheritance),
		cmocka_unit_test(test_errors_named_containers),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
