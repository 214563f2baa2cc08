/* Unit tests for runners/directives: the test runners' spec files; the
 * built-in texts, every field, replacing and adding, filters (images and
 * named containers are in test_directives_containers.c, errors in
 * test_directives_errors.c; the shared fixture is in directives_fixture.h). */
#include "directives_fixture.h"

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
	assert_true(r.fork_server);
	directive_result_release(&r);
	struct tcase cold = { "pkg", "test_y", NULL, NULL, "tests/import_order/b.py", "" };
	apply(d, &cold, &r);
	assert_false(r.fork_server);
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

/* maelstrom-pytest's `fork_server` (an extension): true unless the last
 * matching directive that set it said false. */
static void test_fork_server(void **state)
{
	(void)state;
	struct directives *d = load_fl("[[directives]]\n"
				       "filter = \"file.starts_with(cold/)\"\n"
				       "fork_server = false\n"
				       "[[directives]]\n"
				       "filter = \"name.equals(test_warm_again)\"\n"
				       "fork_server = true\n"
				       "[[directives]]\n"
				       "filter = \"name.equals(test_other)\"\n"
				       "timeout = 5\n",
				       &filter_flavor_pytest);
	const struct tcase tests[] = {
		{ "p", "test_a", NULL, NULL, "warm/a.py", "" },
		{ "p", "test_b", NULL, NULL, "cold/b.py", "" },
		{ "p", "test_warm_again", NULL, NULL, "cold/b.py", "" },
		{ "p", "test_other", NULL, NULL, "cold/b.py", "" },
	};
	bool want[] = { true, false, true, false };
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		struct directive_result r;
		apply(d, &tests[i], &r);
		if (r.fork_server != want[i])
			fail_msg("%s: fork_server %d, want %d", tests[i].name, r.fork_server,
				 want[i]);
		directive_result_release(&r);
	}
	directives_free(d);

	/* No directive at all: warm. */
	d = load_fl("", &filter_flavor_pytest);
	struct directive_result r;
	apply(d, &tests[1], &r);
	assert_true(r.fork_server);
	directive_result_release(&r);
	directives_free(d);
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
		cmocka_unit_test(test_fork_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
