/* Unit tests for runners/cargo: cargo metadata, cargo's build messages, the
 * terse test listing, the job made for a test, and the drivers run against
 * stand-in scripts. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/strv.h"
#include "runners/cargo/cargo_build.h"
#include "runners/cargo/cargo_job.h"
#include "runners/cargo/cargo_list.h"
#include "runners/cargo/cargo_meta.h"

/* ---- cargo metadata ------------------------------------------------------- */

static const char meta_json[] =
	"{\"packages\":["
	"{\"name\":\"alpha\",\"id\":\"path+file:///w/alpha#0.1.0\","
	"\"manifest_path\":\"/w/alpha/Cargo.toml\",\"targets\":["
	"{\"kind\":[\"lib\"],\"crate_types\":[\"lib\"],\"name\":\"alpha\",\"test\":true},"
	"{\"kind\":[\"test\"],\"name\":\"integ\",\"test\":true},"
	"{\"kind\":[\"example\"],\"name\":\"demo\",\"test\":false},"
	"{\"kind\":[\"bin\"],\"name\":\"alpha\",\"test\":true},"
	"{\"kind\":[\"custom-build\"],\"name\":\"build-script-build\",\"test\":false}]},"
	"{\"name\":\"dep\",\"id\":\"registry+https://x#dep@1.0.0\",\"targets\":[]},"
	"{\"name\":\"beta\",\"id\":\"path+file:///w/beta#0.1.0\","
	"\"manifest_path\":\"/w/beta/Cargo.toml\",\"targets\":["
	"{\"kind\":[\"proc-macro\"],\"name\":\"beta\"}]}],"
	"\"workspace_members\":[\"path+file:///w/alpha#0.1.0\",\"path+file:///w/beta#0.1.0\"],"
	"\"target_directory\":\"/w/target\",\"version\":1,\"workspace_root\":\"/w\"}";

static void test_meta_parse(void **state)
{
	(void)state;
	struct cargo_meta m;
	struct err *e = NULL;
	assert_int_equal(cargo_meta_parse(meta_json, strlen(meta_json), &m, &e), 0);
	assert_string_equal(m.workspace_root, "/w");
	assert_string_equal(m.target_dir, "/w/target");
	assert_int_equal(m.n_packages, 2);   /* dep is no workspace member */
	const struct cargo_package *a = &m.packages[0];
	assert_string_equal(a->name, "alpha");
	assert_string_equal(a->manifest_path, "/w/alpha/Cargo.toml");
	assert_int_equal(a->n_targets, 5);
	assert_int_equal(a->targets[0].kind, TARGET_LIB);
	assert_true(a->targets[0].test);
	assert_int_equal(a->targets[1].kind, TARGET_TEST);
	assert_int_equal(a->targets[2].kind, TARGET_EXAMPLE);
	assert_false(a->targets[2].test);
	assert_int_equal(a->targets[3].kind, TARGET_BIN);
	assert_int_equal(a->targets[4].kind, TARGET_NONE);
	/* Without a "test" field, a library is tested (old cargo). */
	assert_int_equal(m.packages[1].targets[0].kind, TARGET_LIB);
	assert_true(m.packages[1].targets[0].test);
	assert_ptr_equal(cargo_meta_package_by_id(&m, "path+file:///w/beta#0.1.0"),
			 &m.packages[1]);
	assert_null(cargo_meta_package_by_id(&m, "registry+https://x#dep@1.0.0"));
	assert_ptr_equal(cargo_package_target(a, "alpha", TARGET_BIN), &a->targets[3]);
	assert_null(cargo_package_target(a, "integ", TARGET_LIB));
	cargo_meta_release(&m);
	cargo_meta_release(&m);   /* a released struct is zeroed */
}

static void test_meta_parse_errors(void **state)
{
	(void)state;
	struct cargo_meta m;
	struct err *e = NULL;
	assert_int_equal(cargo_meta_parse("{nope", 5, &m, &e), -1);
	assert_non_null(strstr(err_msg(e), "invalid JSON"));
	err_free(&e);
	const char *no_root = "{\"packages\":[],\"target_directory\":\"/t\"}";
	assert_int_equal(cargo_meta_parse(no_root, strlen(no_root), &m, &e), -1);
	assert_non_null(strstr(err_msg(e), "workspace_root"));
	err_free(&e);
	const char *bad_target = "{\"packages\":[{\"name\":\"p\",\"id\":\"i\",\"targets\":"
				 "[{\"name\":\"t\"}]}],\"target_directory\":\"/t\","
				 "\"workspace_root\":\"/\"}";
	assert_int_equal(cargo_meta_parse(bad_target, strlen(bad_target), &m, &e), -1);
	assert_non_null(strstr(err_msg(e), "package `p` target 0"));
	err_free(&e);
	assert_null(m.packages);
}

static void test_kind_words(void **state)
{
	(void)state;
	assert_int_equal(cargo_kind_from_word("rlib"), TARGET_LIB);
	assert_int_equal(cargo_kind_from_word("cdylib"), TARGET_LIB);
	assert_int_equal(cargo_kind_from_word("bench"), TARGET_BENCH);
	assert_int_equal(cargo_kind_from_word("custom-build"), TARGET_NONE);
	assert_string_equal(cargo_kind_filter_word(TARGET_LIB), "library");
	assert_string_equal(cargo_kind_filter_word(TARGET_BIN), "binary");
	assert_string_equal(cargo_kind_filter_word(TARGET_BENCH), "benchmark");
	assert_string_equal(cargo_kind_filter_word(TARGET_NONE), "");
}

static char *joined(char **v)
{
	size_t len = 1;
	for (char **p = v; *p; p++)
		len += strlen(*p) + 1;
	char *s = calloc(1, len);
	assert_non_null(s);
	for (char **p = v; *p; p++) {
		if (p != v)
			strcat(s, " ");
		strcat(s, *p);
	}
	strv_free(v);
	return s;
}

static void test_command_lines(void **state)
{
	(void)state;
	struct cargo_opts o = {0};
	char *s = joined(cargo_opts_metadata_argv(&o));
	assert_string_equal(s, "cargo metadata --format-version 1 --no-deps");
	free(s);
	s = joined(cargo_opts_build_argv(&o, NULL, 0));
	assert_string_equal(s, "cargo test --no-run --message-format=json-render-diagnostics "
			       "--workspace");
	free(s);
	struct cargo_opts full = {
		.cargo = "/x/cargo", .features = "a,b", .all_features = true,
		.no_default_features = true, .profile = "release", .target = "x86_64-t",
		.target_dir = "/tgt", .manifest_path = "/w/Cargo.toml", .frozen = true,
		.locked = true, .offline = true,
	};
	s = joined(cargo_opts_metadata_argv(&full));
	assert_string_equal(s, "/x/cargo metadata --format-version 1 --no-deps --features=a,b "
			       "--all-features --no-default-features "
			       "--manifest-path=/w/Cargo.toml --frozen --locked --offline");
	free(s);
	const char *pkgs[] = {"alpha", "beta"};
	s = joined(cargo_opts_build_argv(&full, pkgs, 2));
	assert_string_equal(s, "/x/cargo test --no-run --message-format=json-render-diagnostics "
			       "--features=a,b --all-features --no-default-features "
			       "--manifest-path=/w/Cargo.toml --frozen --locked --offline "
			       "--profile=release --target=x86_64-t --target-dir=/tgt "
			       "-p alpha -p beta");
	free(s);
}

static void test_build_dir(void **state)
{
	(void)state;
	struct cargo_opts o = {0};
	char *d = cargo_build_dir("/t", &o);
	assert_string_equal(d, "/t/debug");
	free(d);
	o.profile = "release";
	o.target = "aarch64-unknown-linux-gnu";
	d = cargo_build_dir("/t", &o);
	assert_string_equal(d, "/t/aarch64-unknown-linux-gnu/release");
	free(d);
	o.profile = "ci";
	o.target = NULL;
	d = cargo_build_dir("/t", &o);
	assert_string_equal(d, "/t/ci");
	free(d);
	o.profile = "test";
	d = cargo_build_dir("/t", &o);
	assert_string_equal(d, "/t/debug");
	free(d);
}

/* ---- cargo's build messages ---------------------------------------------- */

static void parse_ok(const char *line, struct cargo_msg *m)
{
	struct err *e = NULL;
	if (cargo_msg_parse(line, strlen(line), m, &e) < 0)
		fail_msg("cargo_msg_parse(%s): %s", line, err_msg(e));
}

static void test_msg_artifacts(void **state)
{
	(void)state;
	struct cargo_msg m;
	parse_ok("{\"reason\":\"compiler-artifact\",\"package_id\":\"path+file:///w/alpha#0.1.0\","
		 "\"target\":{\"kind\":[\"test\"],\"crate_types\":[\"bin\"],\"name\":\"integ\"},"
		 "\"profile\":{\"test\":true},\"filenames\":[\"/w/target/debug/deps/integ-1\"],"
		 "\"executable\":\"/w/target/debug/deps/integ-1\",\"fresh\":false}",
		 &m);
	assert_int_equal(m.kind, CARGO_MSG_ARTIFACT);
	assert_string_equal(m.package_id, "path+file:///w/alpha#0.1.0");
	assert_string_equal(m.target_name, "integ");
	assert_int_equal(m.target_kind, TARGET_TEST);
	assert_true(m.profile_test);
	assert_string_equal(m.executable, "/w/target/debug/deps/integ-1");
	assert_true(cargo_msg_is_test_binary(&m));
	cargo_msg_release(&m);

	/* The library built for linking: no test harness, no executable. */
	parse_ok("{\"reason\":\"compiler-artifact\",\"package_id\":\"p\","
		 "\"target\":{\"kind\":[\"lib\"],\"name\":\"alpha\"},"
		 "\"profile\":{\"test\":false},\"executable\":null}",
		 &m);
	assert_int_equal(m.kind, CARGO_MSG_ARTIFACT);
	assert_int_equal(m.target_kind, TARGET_LIB);
	assert_null(m.executable);
	assert_false(cargo_msg_is_test_binary(&m));
	cargo_msg_release(&m);

	/* A binary built for the tests of its package, but not as a test. */
	parse_ok("{\"reason\":\"compiler-artifact\",\"package_id\":\"p\","
		 "\"target\":{\"kind\":[\"bin\"],\"name\":\"tool\"},"
		 "\"profile\":{\"test\":false},\"executable\":\"/w/target/debug/tool\"}",
		 &m);
	assert_false(cargo_msg_is_test_binary(&m));
	cargo_msg_release(&m);
}

static void test_msg_other_kinds(void **state)
{
	(void)state;
	struct cargo_msg m;
	parse_ok("{\"reason\":\"compiler-message\",\"package_id\":\"p\","
		 "\"target\":{\"kind\":[\"lib\"],\"name\":\"a\"},"
		 "\"message\":{\"rendered\":\"warning: unused\\n --> a.rs:1:1\\n\",\"level\":\"warning\"}}",
		 &m);
	assert_int_equal(m.kind, CARGO_MSG_COMPILER_MESSAGE);
	assert_string_equal(m.text, "warning: unused\n --> a.rs:1:1\n");
	cargo_msg_release(&m);

	parse_ok("{\"reason\":\"build-finished\",\"success\":false}", &m);
	assert_int_equal(m.kind, CARGO_MSG_BUILD_FINISHED);
	assert_false(m.success);
	cargo_msg_release(&m);
	parse_ok("{\"reason\":\"build-finished\",\"success\":true}", &m);
	assert_true(m.success);
	cargo_msg_release(&m);

	parse_ok("{\"reason\":\"build-script-executed\",\"package_id\":\"p\"}", &m);
	assert_int_equal(m.kind, CARGO_MSG_OTHER);
	cargo_msg_release(&m);

	parse_ok("   Compiling alpha v0.1.0", &m);
	assert_int_equal(m.kind, CARGO_MSG_TEXT);
	assert_string_equal(m.text, "   Compiling alpha v0.1.0");
	cargo_msg_release(&m);

	struct err *e = NULL;
	const char *bad = "{\"reason\":\"compiler-artifact\"";
	assert_int_equal(cargo_msg_parse(bad, strlen(bad), &m, &e), -1);
	assert_non_null(strstr(err_msg(e), "not valid JSON"));
	err_free(&e);
	const char *no_target = "{\"reason\":\"compiler-artifact\",\"package_id\":\"p\"}";
	assert_int_equal(cargo_msg_parse(no_target, strlen(no_target), &m, &e), -1);
	assert_non_null(strstr(err_msg(e), "compiler-artifact"));
	err_free(&e);
	const char *no_success = "{\"reason\":\"build-finished\"}";
	assert_int_equal(cargo_msg_parse(no_success, strlen(no_success), &m, &e), -1);
	err_free(&e);
	assert_int_equal(cargo_msg_parse("[1]", 3, &m, &e), 0);   /* not '{': text */
	assert_int_equal(m.kind, CARGO_MSG_TEXT);
	cargo_msg_release(&m);
}

/* ---- the terse listing --------------------------------------------------- */

static void test_list_parse_line(void **state)
{
	(void)state;
	char *name = NULL;
	const char *l1 = "tests::inner::nested: test";
	assert_int_equal(cargo_list_parse_line(l1, strlen(l1), &name), 1);
	assert_string_equal(name, "tests::inner::nested");
	free(name);
	const char *l2 = "bench_sort: benchmark";
	assert_int_equal(cargo_list_parse_line(l2, strlen(l2), &name), 0);
	assert_null(name);
	assert_int_equal(cargo_list_parse_line("", 0, &name), 0);
	assert_int_equal(cargo_list_parse_line(": test", 6, &name), 0);
	const char *l3 = "x: test\r";
	assert_int_equal(cargo_list_parse_line(l3, strlen(l3), &name), 1);
	assert_string_equal(name, "x");
	free(name);
	const char *l4 = "3 tests, 0 benchmarks";
	assert_int_equal(cargo_list_parse_line(l4, strlen(l4), &name), 0);
}

static struct cargo_meta parsed_meta(void)
{
	struct cargo_meta m;
	struct err *e = NULL;
	assert_int_equal(cargo_meta_parse(meta_json, strlen(meta_json), &m, &e), 0);
	return m;
}

static void test_make_cases(void **state)
{
	(void)state;
	struct cargo_meta m = parsed_meta();
	const struct cargo_package *a = &m.packages[0];
	char *names[] = {"tests::adds", "tests::slow"};
	char *ignored[] = {"tests::slow"};
	struct test_case **c = cargo_list_make_cases(a, &a->targets[0], "/w/t/alpha-1", names, 2,
						     ignored, 1);
	assert_non_null(c);
	assert_string_equal(c[0]->id, "alpha::alpha::tests::adds");
	assert_string_equal(c[0]->display, "alpha tests::adds");
	assert_string_equal(c[0]->package, "alpha");
	assert_string_equal(c[0]->binary, "alpha");
	assert_string_equal(c[0]->name, "tests::adds");
	assert_int_equal(c[0]->kind, TARGET_LIB);
	assert_false(c[0]->ignored);
	assert_true(c[1]->ignored);
	assert_string_equal(cargo_case_of(c[0])->executable, "/w/t/alpha-1");
	test_case_free(c[0]);
	test_case_free(c[1]);
	free(c);

	/* The binary shares the library's name: its ids say which it is. */
	c = cargo_list_make_cases(a, &a->targets[3], "/w/t/alpha-2", names, 1, NULL, 0);
	assert_string_equal(c[0]->id, "alpha::alpha(binary)::tests::adds");
	assert_string_equal(c[0]->display, "alpha alpha tests::adds");
	assert_int_equal(c[0]->kind, TARGET_BIN);
	test_case_free(c[0]);
	free(c);
	c = cargo_list_make_cases(a, &a->targets[1], "/w/t/integ-3", names, 1, NULL, 0);
	assert_string_equal(c[0]->id, "alpha::integ::tests::adds");
	assert_string_equal(c[0]->display, "alpha integ tests::adds");
	test_case_free(c[0]);
	free(c);
	assert_null(cargo_list_make_cases(a, &a->targets[1], "/x", names, 0, NULL, 0));
	cargo_meta_release(&m);
}

/* ---- the job of a test ------------------------------------------------------ */

static void test_case_filter_view(void **state)
{
	(void)state;
	struct cargo_meta m = parsed_meta();
	const struct cargo_package *a = &m.packages[0];
	char *names[] = {"t1"};
	struct test_case **c = cargo_list_make_cases(a, &a->targets[1], "/x/integ-1", names, 1,
						     NULL, 0);
	struct filter *f = NULL;
	struct err *e = NULL;
	const char *yes[] = {"test.equals(integ) && package.equals(alpha) && name.equals(t1)",
			     "test", "!library", "test.starts_with(in)"};
	const char *no[] = {"binary.equals(integ)", "library", "name.equals(t2)",
			    "package.equals(beta)"};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(filter_parse(yes[i], &filter_flavor_cargo, &f, &e), 0);
		assert_int_equal(filter_eval(f, cargo_case_lookup, cargo_case_simple, c[0]),
				 FILTER_TRUE);
		filter_free(f);
		assert_int_equal(filter_parse(no[i], &filter_flavor_cargo, &f, &e), 0);
		assert_int_equal(filter_eval(f, cargo_case_lookup, cargo_case_simple, c[0]),
				 FILTER_FALSE);
		filter_free(f);
	}
	test_case_free(c[0]);
	free(c);
	cargo_meta_release(&m);
}

static void test_expand_build_dir(void **state)
{
	(void)state;
	char *s = cargo_expand_build_dir("<build-dir>/foo", "/t/debug");
	assert_string_equal(s, "/t/debug/foo");
	free(s);
	s = cargo_expand_build_dir("a/<<build-dir>/b<x>/<build-dir>", "/d");
	assert_string_equal(s, "a/<build-dir>/b<x>//d");
	free(s);
	s = cargo_expand_build_dir("plain", "/d");
	assert_string_equal(s, "plain");
	free(s);
}

struct job_fixture {
	struct cargo_meta meta;
	struct test_case **cases;   /* [0]: lib test, [1]: integration test */
	struct directives *d;
	struct cargo_job_ctx ctx;
};

static void job_fixture(struct job_fixture *f, const char *toml_text)
{
	memset(f, 0, sizeof(*f));
	f->meta = parsed_meta();
	const struct cargo_package *a = &f->meta.packages[0];
	char *names[] = {"tests::adds"};
	struct test_case **lib = cargo_list_make_cases(a, &a->targets[0],
						       "/w/target/debug/deps/alpha-1", names, 1,
						       NULL, 0);
	char *inames[] = {"slow_one"};
	struct test_case **integ = cargo_list_make_cases(a, &a->targets[1],
							 "/w/target/debug/deps/integ-2", inames,
							 1, NULL, 0);
	f->cases = calloc(2, sizeof(*f->cases));
	assert_non_null(f->cases);
	f->cases[0] = lib[0];
	f->cases[1] = integ[0];
	free(lib);
	free(integ);
	struct err *e = NULL;
	if (directives_load(&f->d, NULL, toml_text, &filter_flavor_cargo, &e) < 0)
		fail_msg("directives_load: %s", err_msg(e));
	f->ctx.directives = f->d;
	f->ctx.build_dir = "/w/target/debug";
}

static void job_fixture_release(struct job_fixture *f)
{
	test_case_free(f->cases[0]);
	test_case_free(f->cases[1]);
	free(f->cases);
	directives_free(f->d);
	cargo_meta_release(&f->meta);
}

static void test_job_default_directives(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f, directives_default_text(&filter_flavor_cargo));
	const char *extra[] = {"--test-threads", "1"};
	f.ctx.extra_args = extra;
	f.ctx.n_extra_args = 2;
	struct job_spec spec = {0};
	bool ignored = true;
	struct err *e = NULL;
	if (cargo_job_make(&f.ctx, f.cases[0], &spec, &ignored, &e) < 0)
		fail_msg("cargo_job_make: %s", err_msg(e));
	assert_false(ignored);
	assert_string_equal(spec.program, "/alpha-1");
	assert_int_equal(spec.n_arguments, 5);
	assert_string_equal(spec.arguments[0], "--exact");
	assert_string_equal(spec.arguments[1], "--nocapture");
	assert_string_equal(spec.arguments[2], "--test-threads");
	assert_string_equal(spec.arguments[3], "1");
	assert_string_equal(spec.arguments[4], "tests::adds");
	assert_null(spec.arguments[5]);
	/* The default's stubs, then shared libraries, then the binary. */
	struct container_spec *c = &spec.container;
	assert_int_equal(c->n_layers, 3);
	assert_int_equal(c->layers[0].kind, LAYER_STUBS);
	assert_int_equal(c->layers[1].kind, LAYER_SHARED_LIBS);
	assert_string_equal(c->layers[1].paths[0], "/w/target/debug/deps/alpha-1");
	assert_int_equal(c->layers[2].kind, LAYER_PATHS);
	assert_int_equal(c->layers[2].n_paths, 1);
	assert_string_equal(c->layers[2].paths[0], "/w/target/debug/deps/alpha-1");
	assert_string_equal(c->layers[2].prefix.strip_prefix, "/w/target/debug/deps");
	assert_null(c->layers[2].prefix.prepend_prefix);
	assert_int_equal(c->n_mounts, 4);
	assert_null(c->image.name);
	assert_int_equal(spec.timeout_s, 0);
	job_spec_release(&spec);
	job_fixture_release(&f);
}

static const char custom_toml[] =
	"[[directives]]\n"
	"layers = [{ paths = [\"<build-dir>/helper\"], strip_prefix = \"<build-dir>\" }]\n"
	"include_shared_libraries = false\n"
	"working_directory = \"/work\"\n"
	"environment = { RUST_BACKTRACE = \"1\" }\n"
	"timeout = 7\n"
	"\n"
	"[[directives]]\n"
	"filter = \"test.equals(integ)\"\n"
	"ignore = true\n";

static void test_job_custom_directives(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f, custom_toml);
	struct job_spec spec = {0};
	bool ignored = false;
	struct err *e = NULL;
	if (cargo_job_make(&f.ctx, f.cases[0], &spec, &ignored, &e) < 0)
		fail_msg("cargo_job_make: %s", err_msg(e));
	assert_false(ignored);
	struct container_spec *c = &spec.container;
	assert_int_equal(c->n_layers, 2);   /* no shared-library layer */
	assert_string_equal(c->layers[0].paths[0], "/w/target/debug/helper");
	assert_string_equal(c->layers[0].prefix.strip_prefix, "/w/target/debug");
	assert_int_equal(c->layers[1].kind, LAYER_PATHS);
	assert_string_equal(c->working_directory, "/work");
	assert_int_equal(spec.timeout_s, 7);
	assert_int_equal(c->n_environment, 1);
	assert_string_equal(c->environment[0].vars[0].name, "RUST_BACKTRACE");
	assert_int_equal(spec.n_arguments, 3);
	job_spec_release(&spec);

	struct job_spec spec2 = {0};
	assert_int_equal(cargo_job_make(&f.ctx, f.cases[1], &spec2, &ignored, &e), 0);
	assert_true(ignored);
	job_spec_release(&spec2);
	job_fixture_release(&f);
}

/* On an image: the binary goes on top of the image's layers (added_layers),
 * without its shared libraries unless the directives ask for them. */
static void test_job_on_an_image(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f, "[[directives]]\nimage = \"docker://rust\"\n"
			"added_layers = [{ stubs = [\"/tmp/\"] }]\n");
	struct job_spec spec = {0};
	bool ignored = false;
	struct err *e = NULL;
	if (cargo_job_make(&f.ctx, f.cases[0], &spec, &ignored, &e) < 0)
		fail_msg("cargo_job_make: %s", err_msg(e));
	struct container_spec *c = &spec.container;
	assert_string_equal(c->image.name, "docker://rust");
	assert_true(c->image.use_layers);
	assert_true(c->image.use_environment);
	assert_int_equal(c->n_layers, 0);
	assert_int_equal(c->n_added_layers, 2);
	assert_int_equal(c->added_layers[0].kind, LAYER_STUBS);
	assert_int_equal(c->added_layers[1].kind, LAYER_PATHS);
	assert_string_equal(c->added_layers[1].paths[0], "/w/target/debug/deps/alpha-1");
	assert_string_equal(spec.program, "/alpha-1");
	job_spec_release(&spec);
	job_fixture_release(&f);

	job_fixture(&f, "[[directives]]\nimage = \"docker://rust\"\n"
			"include_shared_libraries = true\n");
	memset(&spec, 0, sizeof(spec));
	if (cargo_job_make(&f.ctx, f.cases[0], &spec, &ignored, &e) < 0)
		fail_msg("cargo_job_make: %s", err_msg(e));
	c = &spec.container;
	assert_int_equal(c->n_layers, 0);
	assert_int_equal(c->n_added_layers, 2);
	assert_int_equal(c->added_layers[0].kind, LAYER_SHARED_LIBS);
	assert_int_equal(c->added_layers[1].kind, LAYER_PATHS);
	job_spec_release(&spec);
	job_fixture_release(&f);

	/* An image used for its environment only: the layers stay `layers`. */
	job_fixture(&f, "[[directives]]\n"
			"image = { name = \"docker://rust\", use = [\"environment\"] }\n"
			"layers = [{ stubs = [\"/tmp/\"] }]\n");
	memset(&spec, 0, sizeof(spec));
	if (cargo_job_make(&f.ctx, f.cases[0], &spec, &ignored, &e) < 0)
		fail_msg("cargo_job_make: %s", err_msg(e));
	c = &spec.container;
	assert_false(c->image.use_layers);
	assert_int_equal(c->n_added_layers, 0);
	assert_int_equal(c->n_layers, 2);
	job_spec_release(&spec);
	job_fixture_release(&f);
}

/* ---- the drivers, against stand-in scripts ---------------------------------- */

struct tmpdir {
	char path[4096];
};

static void tmpdir_make(struct tmpdir *t)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(t->path, sizeof(t->path), "%s/test_cargo.XXXXXX", tmp);
	assert_non_null(mkdtemp(t->path));
}

static void tmpdir_remove(struct tmpdir *t)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
	assert_int_equal(system(cmd), 0);
}

/* Writes an executable script `name` in t; returns its path (static). */
static const char *script(struct tmpdir *t, const char *name, const char *body)
{
	static char path[4200];
	snprintf(path, sizeof(path), "%s/%s", t->path, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static struct reactor *new_reactor(void)
{
	struct reactor *r = NULL;
	struct err *e = NULL;
	if (reactor_new(&r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	return r;
}

struct build_seen {
	char binaries[8][64];
	size_t n_binaries;
	char texts[16][128];
	size_t n_texts;
	int done_calls;
	bool ok;
	char message[1024];
	struct cargo_build *b;
	bool free_on_binary;
};

static void b_binary(void *arg, const struct cargo_msg *m)
{
	struct build_seen *s = arg;
	snprintf(s->binaries[s->n_binaries++ % 8], 64, "%s", m->executable);
	if (s->free_on_binary) {
		cargo_build_free(s->b);
		s->b = NULL;
	}
}

static void b_text(void *arg, const char *text)
{
	struct build_seen *s = arg;
	snprintf(s->texts[s->n_texts++ % 16], 128, "%s", text);
}

static void b_done(void *arg, bool ok, const char *message)
{
	struct build_seen *s = arg;
	s->done_calls++;
	s->ok = ok;
	snprintf(s->message, sizeof(s->message), "%s", message ? message : "");
}

static void run_build(const char *prog, struct build_seen *s)
{
	struct reactor *r = new_reactor();
	const char *argv[] = {prog, NULL};
	struct cargo_build_cbs cbs = {b_binary, b_text, b_done};
	struct err *e = NULL;
	if (cargo_build_start(&s->b, r, argv, NULL, &cbs, s, &e) < 0)
		fail_msg("cargo_build_start: %s", err_msg(e));
	assert_int_equal(reactor_run(r, &e), 0);
	cargo_build_free(s->b);
	reactor_free(r);
}

static void test_build_stream(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	const char *prog = script(&t, "cargo",
		"echo '   Compiling alpha v0.1.0' >&2\n"
		"echo '{\"reason\":\"compiler-artifact\",\"package_id\":\"p\",\"target\":"
		"{\"kind\":[\"lib\"],\"name\":\"a\"},\"profile\":{\"test\":false},"
		"\"executable\":null}'\n"
		"echo '{\"reason\":\"compiler-artifact\",\"package_id\":\"p\",\"target\":"
		"{\"kind\":[\"lib\"],\"name\":\"a\"},\"profile\":{\"test\":true},"
		"\"executable\":\"/t/a-1\"}'\n"
		"echo '{\"reason\":\"compiler-message\",\"package_id\":\"p\",\"target\":"
		"{\"kind\":[\"lib\"],\"name\":\"a\"},\"message\":{\"rendered\":\"warning: x\"}}'\n"
		"echo '{\"reason\":\"compiler-artifact\",\"package_id\":\"p\",\"target\":"
		"{\"kind\":[\"test\"],\"name\":\"i\"},\"profile\":{\"test\":true},"
		"\"executable\":\"/t/i-2\"}'\n"
		"echo '{\"reason\":\"build-finished\",\"success\":true}'\n");
	struct build_seen s = {0};
	run_build(prog, &s);
	assert_int_equal(s.n_binaries, 2);
	assert_string_equal(s.binaries[0], "/t/a-1");
	assert_string_equal(s.binaries[1], "/t/i-2");
	assert_int_equal(s.n_texts, 2);
	bool compiling = false, warning = false;
	for (size_t i = 0; i < s.n_texts; i++) {
		compiling |= strcmp(s.texts[i], "   Compiling alpha v0.1.0") == 0;
		warning |= strcmp(s.texts[i], "warning: x") == 0;
	}
	assert_true(compiling && warning);
	assert_int_equal(s.done_calls, 1);
	assert_true(s.ok);
	tmpdir_remove(&t);
}

static void test_build_failure(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	const char *prog = script(&t, "cargo",
		"echo 'error[E0308]: mismatched types' >&2\n"
		"echo '  --> src/lib.rs:1:1' >&2\n"
		"echo 'error: could not compile `alpha` (lib test) due to 1 previous error' >&2\n"
		"echo '{\"reason\":\"build-finished\",\"success\":false}'\n"
		"exit 101\n");
	struct build_seen s = {0};
	run_build(prog, &s);
	assert_int_equal(s.done_calls, 1);
	assert_false(s.ok);
	assert_non_null(strstr(s.message, "exited with status 101"));
	assert_non_null(strstr(s.message, "error[E0308]: mismatched types"));
	assert_non_null(strstr(s.message, "could not compile `alpha`"));
	assert_null(strstr(s.message, "-->"));
	assert_int_equal(s.n_texts, 3);   /* every stderr line was shown */

	/* build-finished false with exit 0 still fails. */
	prog = script(&t, "cargo2", "echo '{\"reason\":\"build-finished\",\"success\":false}'\n");
	struct build_seen s2 = {0};
	run_build(prog, &s2);
	assert_false(s2.ok);
	tmpdir_remove(&t);
}

/* The owner stops the build from a callback: cargo is killed, no end is
 * reported. */
static void test_build_free_inside_callback(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	const char *prog = script(&t, "cargo",
		"echo '{\"reason\":\"compiler-artifact\",\"package_id\":\"p\",\"target\":"
		"{\"kind\":[\"lib\"],\"name\":\"a\"},\"profile\":{\"test\":true},"
		"\"executable\":\"/t/a-1\"}'\n"
		"exec sleep 1000\n");
	struct build_seen s = {.free_on_binary = true};
	run_build(prog, &s);
	assert_int_equal(s.n_binaries, 1);
	assert_int_equal(s.done_calls, 0);
	assert_null(s.b);
	tmpdir_remove(&t);
}

struct list_seen {
	char **names;
	char **ignored;
	char error[1024];
	int calls;
	struct cargo_list *l;
};

static void on_listed(void *arg, char **names, char **ignored, const char *error)
{
	struct list_seen *s = arg;
	s->calls++;
	s->names = names;
	s->ignored = ignored;
	snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
	cargo_list_free(s->l);   /* freeing inside the callback is allowed */
	s->l = NULL;
}

static void run_listing(const char *exe, const char *cwd, struct list_seen *s)
{
	struct reactor *r = new_reactor();
	struct err *e = NULL;
	if (cargo_list_start(&s->l, r, exe, cwd, on_listed, s, &e) < 0)
		fail_msg("cargo_list_start: %s", err_msg(e));
	assert_int_equal(reactor_run(r, &e), 0);
	cargo_list_free(s->l);
	reactor_free(r);
}

static void test_listing(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	const char *exe = script(&t, "alpha-1",
		"[ \"$1 $2 $3\" = '--list --format terse' ] || exit 9\n"
		"pwd > cwd.txt\n"
		"if [ \"$4\" = --ignored ]; then echo 'tests::slow: test'; exit 0; fi\n"
		"echo 'tests::adds: test'\n"
		"echo 'tests::slow: test'\n"
		"echo 'bench_x: benchmark'\n");
	struct list_seen s = {0};
	run_listing(exe, t.path, &s);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.error, "");
	assert_int_equal(strv_len((const char *const *)s.names), 2);
	assert_string_equal(s.names[0], "tests::adds");
	assert_string_equal(s.names[1], "tests::slow");
	assert_int_equal(strv_len((const char *const *)s.ignored), 1);
	assert_string_equal(s.ignored[0], "tests::slow");
	strv_free(s.names);
	strv_free(s.ignored);
	char cwd_file[4200];
	snprintf(cwd_file, sizeof(cwd_file), "%s/cwd.txt", t.path);
	assert_int_equal(access(cwd_file, F_OK), 0);   /* ran in the directory given */

	const char *bad = script(&t, "broken-2", "echo 'thread main panicked' >&2\nexit 101\n");
	struct list_seen s2 = {0};
	run_listing(bad, NULL, &s2);
	assert_int_equal(s2.calls, 1);
	assert_null(s2.names);
	assert_non_null(strstr(s2.error, "broken-2"));
	assert_non_null(strstr(s2.error, "exited with status 101"));
	assert_non_null(strstr(s2.error, "thread main panicked"));

	struct reactor *r = new_reactor();
	struct err *e = NULL;
	struct cargo_list *l = NULL;
	assert_int_equal(cargo_list_start(&l, r, "/nonexistent/bin-h23", NULL, on_listed, &s2, &e),
			 -1);
	assert_non_null(strstr(err_msg(e), "/nonexistent/bin-h23"));
	err_free(&e);
	reactor_free(r);
	tmpdir_remove(&t);
}

struct meta_seen {
	int calls;
	struct cargo_meta m;
	char error[1024];
	struct cargo_meta_run *run;
};

static void on_meta(void *arg, struct cargo_meta *m, const char *error)
{
	struct meta_seen *s = arg;
	s->calls++;
	if (m) {
		s->m = *m;   /* stolen */
		memset(m, 0, sizeof(*m));
	}
	snprintf(s->error, sizeof(s->error), "%s", error ? error : "");
	cargo_meta_run_free(s->run);
	s->run = NULL;
}

static void test_meta_run(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	char body[4096];
	snprintf(body, sizeof(body),
		 "[ \"$*\" = 'metadata --format-version 1 --no-deps --offline' ] || "
		 "{ echo \"bad args: $*\" >&2; exit 3; }\n"
		 "cat <<'EOF'\n%s\nEOF\n", meta_json);
	struct cargo_opts o = {.cargo = script(&t, "cargo", body), .offline = true};
	struct reactor *r = new_reactor();
	struct err *e = NULL;
	struct meta_seen s = {0};
	s.run = cargo_meta_run(r, &o, t.path, on_meta, &s, &e);
	assert_non_null(s.run);
	assert_int_equal(reactor_run(r, &e), 0);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.error, "");
	assert_string_equal(s.m.workspace_root, "/w");
	cargo_meta_release(&s.m);

	struct cargo_opts o2 = {.cargo = script(&t, "cargo2",
		"echo 'error: could not find `Cargo.toml` in `/x` or any parent directory' >&2\n"
		"exit 101\n")};
	struct meta_seen s2 = {0};
	s2.run = cargo_meta_run(r, &o2, NULL, on_meta, &s2, &e);
	assert_non_null(s2.run);
	assert_int_equal(reactor_run(r, &e), 0);
	assert_int_equal(s2.calls, 1);
	assert_non_null(strstr(s2.error, "could not find `Cargo.toml`"));
	assert_non_null(strstr(s2.error, "status 101"));
	assert_null(s2.m.workspace_root);
	reactor_free(r);
	tmpdir_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_parse),
		cmocka_unit_test(test_meta_parse_errors),
		cmocka_unit_test(test_kind_words),
		cmocka_unit_test(test_command_lines),
		cmocka_unit_test(test_build_dir),
		cmocka_unit_test(test_msg_artifacts),
		cmocka_unit_test(test_msg_other_kinds),
		cmocka_unit_test(test_list_parse_line),
		cmocka_unit_test(test_make_cases),
		cmocka_unit_test(test_case_filter_view),
		cmocka_unit_test(test_expand_build_dir),
		cmocka_unit_test(test_job_default_directives),
		cmocka_unit_test(test_job_custom_directives),
		cmocka_unit_test(test_job_on_an_image),
		cmocka_unit_test(test_build_stream),
		cmocka_unit_test(test_build_failure),
		cmocka_unit_test(test_build_free_inside_callback),
		cmocka_unit_test(test_listing),
		cmocka_unit_test(test_meta_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
