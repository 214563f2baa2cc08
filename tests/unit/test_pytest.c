/* Unit tests for runners/pytest: the collection helper's records, the test
 * cases made of them, the outcome line and its mapping, the job made for a
 * test, the interpreter search against stand-in scripts, and (when
 * /usr/bin/python3 has pytest) the real Python helpers. */
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

#include "core/cleanup.h"
#include "core/spec_json.h"
#include "core/strv.h"
#include "runners/pytest/pytest_collect.h"
#include "runners/pytest/pytest_job.h"
#include "runners/pytest/pytest_outcome.h"
#include "runners/pytest/pytest_python.h"
#include "runners/pytest/pytest_python_cache.h"

/* ---- records and test cases -------------------------------------------------- */

static const char test_rec[] =
	"{\"type\": \"test\", \"node_id\": \"tests/test_a.py::TestK::test_m[1]\","
	" \"name\": \"TestK::test_m[1]\", \"file\": \"tests/test_a.py\", \"package\": \"tests\","
	" \"markers\": [\"parametrize\", \"slow\"], \"skip\": true, \"skip_reason\": \"later\","
	" \"run_arg\": \"sub/tests/test_a.py::TestK::test_m[1]\"}";

static const char python_rec[] =
	"{\"type\": \"python\", \"executable\": \"/usr/bin/python3\","
	" \"real_executable\": \"/usr/bin/python3.11\", \"version\": \"3.11.2\","
	" \"links\": [\"/usr/bin/python3\", \"/usr/bin/python3.11\"],"
	" \"pytest_version\": \"7.2.1\", \"dirs\": [\"/usr/lib/python3.11\", \"/opt/site\"],"
	" \"files\": [\"/etc/python3.11/sitecustomize.py\"],"
	" \"extensions\": [\"/usr/lib/python3.11/lib-dynload/_json.so\"]}";

static void feed(struct pytest_collection *c, const char *line)
{
	struct err *e = NULL;
	if (pytest_collection_feed(c, line, strlen(line), NULL, &e) < 0)
		fail_msg("feed %s: %s", line, err_msg(e));
}

static void test_case_from_record(void **state)
{
	(void)state;
	struct pytest_collection c = {.exit_code = -1};
	feed(&c, test_rec);
	assert_int_equal(c.n_tests, 1);
	const struct test_case *tc = c.tests[0];
	assert_string_equal(tc->id, "tests/test_a.py::TestK::test_m[1]");
	assert_string_equal(tc->node_id, tc->id);
	assert_string_equal(tc->display, tc->id);
	assert_string_equal(tc->name, "TestK::test_m[1]");
	assert_string_equal(tc->file, "tests/test_a.py");
	assert_string_equal(tc->package, "tests");
	assert_null(tc->binary);
	assert_int_equal(tc->kind, TARGET_NONE);
	assert_false(tc->ignored);   /* skipped tests run: pytest reports them */
	assert_int_equal(strv_len((const char *const *)tc->markers), 2);
	assert_string_equal(tc->markers[1], "slow");
	const struct pytest_case *pc = pytest_case_of(tc);
	assert_non_null(pc);
	assert_string_equal(pc->run_arg, "sub/tests/test_a.py::TestK::test_m[1]");
	assert_true(pc->skip);
	assert_string_equal(pc->skip_reason, "later");
	assert_false(c.found);
	pytest_collection_release(&c);
}

static void test_case_defaults_and_errors(void **state)
{
	(void)state;
	struct err *e = NULL;
	json_t *rec = json_loads("{\"node_id\": \"t.py::x\"}", 0, NULL);
	struct test_case *tc = pytest_case_from_json(rec, &e);
	json_decref(rec);
	assert_non_null(tc);
	assert_string_equal(tc->name, "t.py::x");
	assert_string_equal(tc->package, "");
	assert_string_equal(pytest_case_of(tc)->run_arg, "t.py::x");
	assert_int_equal(strv_len((const char *const *)tc->markers), 0);
	test_case_free(tc);

	const char *bad[][2] = {
		{"{\"name\": \"x\"}", "`node_id` is missing"},
		{"{\"node_id\": \"\"}", "`node_id` is empty"},
		{"{\"node_id\": \"a::b\", \"markers\": [\"x\\ny\"]}", "`markers[0]`"},
		{"{\"node_id\": \"a::b\", \"markers\": \"slow\"}", "`markers` is not a list"},
		{"{\"node_id\": \"a::b\", \"skip\": 1}", "`skip`"},
		{"{\"node_id\": \"a::b\", \"file\": 3}", "a::b: test record: `file` is not a string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rec = json_loads(bad[i][0], 0, NULL);
		assert_non_null(rec);
		assert_null(pytest_case_from_json(rec, &e));
		json_decref(rec);
		if (!strstr(err_msg(e), bad[i][1]))
			fail_msg("%s: got `%s`, wanted `%s`", bad[i][0], err_msg(e), bad[i][1]);
		err_free(&e);
	}
	/* A test case that is not pytest's has no pytest_case. */
	struct test_case other = {0};
	assert_null(pytest_case_of(&other));
}

static void test_collection_records(void **state)
{
	(void)state;
	struct pytest_collection c = {.exit_code = -1};
	struct err *e = NULL;
	char *no = NULL;
	feed(&c, "");
	feed(&c, "   ");
	feed(&c, python_rec);
	assert_true(c.found);
	assert_string_equal(c.python.executable, "/usr/bin/python3");
	assert_string_equal(c.python.real_executable, "/usr/bin/python3.11");
	assert_string_equal(c.python.version, "3.11.2");
	assert_string_equal(c.python.dirs[1], "/opt/site");
	assert_null(c.python.dirs[2]);
	assert_string_equal(c.python.files[0], "/etc/python3.11/sitecustomize.py");
	assert_string_equal(c.python.extensions[0], "/usr/lib/python3.11/lib-dynload/_json.so");
	for (int i = 0; i < 100; i++)
		feed(&c, test_rec);
	assert_int_equal(c.n_tests, 100);
	feed(&c, "{\"type\": \"done\", \"exit\": 5}");
	assert_int_equal(c.exit_code, 5);

	const char *nop = "{\"type\": \"no-pytest\", \"error\": \"No module named 'pytest'\"}";
	assert_int_equal(pytest_collection_feed(&c, nop, strlen(nop), &no, &e), 0);
	assert_string_equal(no, "No module named 'pytest'");
	free(no);

	const char *bad[][2] = {
		{"not json", "not JSON"},
		{"[1]", "without a `type`"},
		{"{\"type\": \"mystery\"}", "unknown type `mystery`"},
		{"{\"type\": \"done\"}", "`exit` is not a number"},
		{"{\"type\": \"python\"}", "`executable` is missing"},
		{"{\"type\": \"python\", \"executable\": \"python3\"}", "not an absolute path"},
		{"{\"type\": \"python\", \"executable\": \"/p\", \"dirs\": [\"rel\"]}",
		 "`dirs[0]` is not an absolute path"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pytest_collection_feed(&c, bad[i][0], strlen(bad[i][0]), NULL, &e),
				 -1);
		if (!strstr(err_msg(e), bad[i][1]))
			fail_msg("%s: got `%s`, wanted `%s`", bad[i][0], err_msg(e), bad[i][1]);
		err_free(&e);
	}
	/* A bad python record leaves no half-read interpreter behind. */
	assert_false(c.found);
	pytest_collection_release(&c);
	assert_int_equal(c.n_tests, 0);
	assert_int_equal(c.exit_code, -1);
}

/* ---- the outcome line ----------------------------------------------------------- */

static void set_captured(struct captured *c, const char *text)
{
	free(c->data);
	c->data = strdup(text);
	assert_non_null(c->data);
	c->len = strlen(text);
}

static void test_outcome_take(void **state)
{
	(void)state;
	struct captured c = {0};
	struct pytest_outcome o;
	struct err *e = NULL;

	set_captured(&c, "warning: x\n\n" PYTEST_OUTCOME_MARK
			 " {\"outcome\": \"skipped\", \"reason\": \"no db\", \"when\": \"setup\"}\n");
	assert_int_equal(pytest_outcome_take(&c, &o, &e), 1);
	assert_int_equal(o.result, PYTEST_SKIPPED);
	assert_string_equal(o.reason, "no db");
	assert_string_equal(o.when, "setup");
	assert_string_equal(c.data, "warning: x\n");   /* exactly what pytest wrote */
	assert_int_equal(c.len, strlen("warning: x\n"));
	pytest_outcome_release(&o);

	/* Output without a final newline; the line alone; the last line wins. */
	set_captured(&c, "abc\n" PYTEST_OUTCOME_MARK " {\"outcome\": \"failed\"}\n");
	assert_int_equal(pytest_outcome_take(&c, &o, &e), 1);
	assert_string_equal(c.data, "abc");
	assert_int_equal(o.result, PYTEST_FAILED);
	assert_string_equal(o.reason, "");
	pytest_outcome_release(&o);
	set_captured(&c, PYTEST_OUTCOME_MARK " {\"outcome\": \"passed\"}");
	assert_int_equal(pytest_outcome_take(&c, &o, &e), 1);
	assert_int_equal(c.len, 0);
	pytest_outcome_release(&o);
	set_captured(&c, "\n" PYTEST_OUTCOME_MARK " {\"outcome\": \"passed\"}\nmid\n\n"
			 PYTEST_OUTCOME_MARK " {\"outcome\": \"xpassed-strict\"}\n");
	assert_int_equal(pytest_outcome_take(&c, &o, &e), 1);
	assert_int_equal(o.result, PYTEST_XPASSED_STRICT);
	assert_string_equal(c.data, "\n" PYTEST_OUTCOME_MARK " {\"outcome\": \"passed\"}\nmid\n");
	pytest_outcome_release(&o);

	/* Not at the start of a line, or no line at all: nothing taken. */
	set_captured(&c, "say " PYTEST_OUTCOME_MARK " {\"outcome\": \"passed\"}\n");
	assert_int_equal(pytest_outcome_take(&c, &o, &e), 0);
	assert_int_equal(c.len, strlen(c.data));
	free(c.data);
	c.data = NULL;
	c.len = 0;
	assert_int_equal(pytest_outcome_take(&c, &o, &e), 0);

	/* Malformed: reported, output left alone. */
	const char *bad[][2] = {
		{PYTEST_OUTCOME_MARK " {oops\n", "not a JSON object"},
		{PYTEST_OUTCOME_MARK " {\"outcome\": \"great\"}\n", "unknown outcome `great`"},
		{PYTEST_OUTCOME_MARK " {\"reason\": \"x\"}\n", "unknown outcome `(none)`"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_captured(&c, bad[i][0]);
		assert_int_equal(pytest_outcome_take(&c, &o, &e), -1);
		assert_non_null(strstr(err_msg(e), bad[i][1]));
		err_free(&e);
		assert_string_equal(c.data, bad[i][0]);
	}
	free(c.data);
}

/* Maps a job that exited with code and wrote stderr_text. */
static enum ui_outcome map(int code, const char *stderr_text, char **detail, char **left)
{
	struct job_result res = {.outcome = JOB_EXITED, .code = code};
	set_captured(&res.err, stderr_text);
	struct test_case tc = {.id = "t.py::x", .display = "t.py::x"};
	enum ui_outcome o = pytest_outcome_map(NULL, &tc, &res, detail);
	*left = res.err.data;
	res.err.data = NULL;
	job_result_release(&res);
	return o;
}

#define LINE(json) "out\n\n" PYTEST_OUTCOME_MARK " " json "\n"

static void test_outcome_map(void **state)
{
	(void)state;
	static const struct {
		int code;
		const char *text;
		enum ui_outcome want;
		const char *detail;   /* NULL: none */
	} cases[] = {
		{0, LINE("{\"outcome\": \"passed\"}"), UI_OK, NULL},
		{1, LINE("{\"outcome\": \"failed\", \"when\": \"call\"}"), UI_FAIL, NULL},
		{1, LINE("{\"outcome\": \"error\", \"when\": \"setup\"}"), UI_ERROR, "error in setup"},
		{0, LINE("{\"outcome\": \"skipped\", \"reason\": \"no db\"}"), UI_SKIPPED,
		 "skipped: no db"},
		{0, LINE("{\"outcome\": \"skipped\"}"), UI_SKIPPED, "skipped"},
		{0, LINE("{\"outcome\": \"xfailed\", \"reason\": \"bug 7\"}"), UI_XFAIL, "xfail: bug 7"},
		{0, LINE("{\"outcome\": \"xpassed\", \"reason\": \"bug 8\"}"), UI_OK,
		 "XPASS (not strict): bug 8"},
		{1, LINE("{\"outcome\": \"xpassed-strict\", \"reason\": \"bug 9\"}"), UI_XPASS,
		 "XPASS(strict): bug 9"},
		{4, LINE("{\"outcome\": \"none\"}"), UI_ERROR, "pytest ran no test (exit code 4)"},
		/* pytest disagreeing with itself: the exit status wins. */
		{3, LINE("{\"outcome\": \"passed\"}"), UI_FAIL, "exited with code 3 although"},
		/* No outcome line: the exit status decides. */
		{0, "plain\n", UI_OK, NULL},
		{2, "plain\n", UI_FAIL, "exited with code 2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *detail = NULL, *left = NULL;
		enum ui_outcome o = map(cases[i].code, cases[i].text, &detail, &left);
		if (o != cases[i].want)
			fail_msg("case %zu: outcome %s, wanted %s", i, ui_outcome_word(o),
				 ui_outcome_word(cases[i].want));
		if (!cases[i].detail)
			assert_null(detail);
		else if (!detail || !strstr(detail, cases[i].detail))
			fail_msg("case %zu: detail `%s`, wanted `%s`", i, detail ? detail : "(null)",
				 cases[i].detail);
		/* The outcome line never reaches the user. */
		assert_null(strstr(left, PYTEST_OUTCOME_MARK));
		free(detail);
		free(left);
	}

	/* A time-out is a time-out, whatever was printed; the line is removed. */
	struct job_result res = {.outcome = JOB_TIMED_OUT, .message = strdup("timed out")};
	set_captured(&res.err, LINE("{\"outcome\": \"passed\"}"));
	struct test_case tc = {.id = "t.py::x", .display = "t.py::x"};
	char *detail = NULL;
	assert_int_equal(pytest_outcome_map(NULL, &tc, &res, &detail), UI_TIMEOUT);
	assert_string_equal(res.err.data, "out\n");
	free(detail);
	job_result_release(&res);
}

/* ---- the job ----------------------------------------------------------------------- */

static void test_glob_below(void **state)
{
	(void)state;
	char *g = NULL, *s = NULL;
	pytest_glob_below("/tmp/proj", "/usr/lib/python3.11", &g, &s);
	assert_string_equal(g, "../../usr/lib/python3.11/**");
	assert_string_equal(s, "../..");
	free(g);
	free(s);
	pytest_glob_below("/", "/usr/lib/python3.11/", &g, &s);
	assert_string_equal(g, "usr/lib/python3.11/**");
	assert_null(s);
	free(g);
	pytest_glob_below("//a//b/", "/x/we[ir]d{1,2}*?/", &g, &s);
	assert_string_equal(g, "../../x/we\\[ir\\]d\\{1\\,2\\}\\*\\?/**");
	assert_string_equal(s, "../..");
	free(g);
	free(s);
}

struct job_fixture {
	struct pytest_collection col;
	struct directives *d;
	struct pytest_job_ctx ctx;
};

static void job_fixture(struct job_fixture *f, const char *toml_text, const char *project)
{
	memset(f, 0, sizeof(*f));
	f->col.exit_code = -1;
	feed(&f->col, python_rec);
	feed(&f->col, test_rec);
	struct err *e = NULL;
	if (directives_load(&f->d, NULL, toml_text, &filter_flavor_pytest, &e) < 0)
		fail_msg("directives_load: %s", err_msg(e));
	f->ctx.directives = f->d;
	f->ctx.python = &f->col.python;
	f->ctx.project_dir = project;
	f->ctx.helpers_dir = "/opt/mp/python";
}

static void job_fixture_release(struct job_fixture *f)
{
	directives_free(f->d);
	pytest_collection_release(&f->col);
}

static const struct layer_spec *find_layer(const struct container_spec *c, enum layer_kind kind,
					   size_t nth)
{
	for (size_t i = 0; i < c->n_layers; i++)
		if (c->layers[i].kind == kind && nth-- == 0)
			return &c->layers[i];
	return NULL;
}

static const char *env_value(const struct container_spec *c, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < c->n_environment; i++)
		for (size_t j = 0; j < c->environment[i].n_vars; j++)
			if (strcmp(c->environment[i].vars[j].name, name) == 0)
				v = c->environment[i].vars[j].value;
	return v;
}

static bool has_mount(const struct container_spec *c, enum mount_kind kind)
{
	for (size_t i = 0; i < c->n_mounts; i++)
		if (c->mounts[i].kind == kind)
			return true;
	return false;
}

static void test_job_default(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f, directives_default_text(&filter_flavor_pytest), "/home/u/proj");
	const char *extra[] = {"-x", "--tb=short"};
	f.ctx.args = extra;
	f.ctx.n_args = 2;
	struct job_spec spec = {0};
	bool ignored = true;
	struct err *e = NULL;
	if (pytest_job_make(&f.ctx, f.col.tests[0], &spec, &ignored, &e) < 0)
		fail_msg("pytest_job_make: %s", err_msg(e));
	assert_false(ignored);
	assert_string_equal(spec.program, "/usr/bin/python3");
	const char *want[] = {"-m", "pytest", "--verbose", "-p", "no:cacheprovider", "-p",
			      "maelstrom_pytest_report", "-x", "--tb=short",
			      "sub/tests/test_a.py::TestK::test_m[1]"};
	assert_int_equal(spec.n_arguments, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < spec.n_arguments; i++)
		assert_string_equal(spec.arguments[i], want[i]);
	const struct container_spec *c = &spec.container;
	assert_string_equal(c->working_directory, "/home/u/proj");
	/* The default's stubs first, then the interpreter's layers. */
	assert_int_equal(c->layers[0].kind, LAYER_STUBS);
	const struct layer_spec *paths = find_layer(c, LAYER_PATHS, 0);
	assert_non_null(paths);
	assert_int_equal(paths->n_paths, 3);
	assert_string_equal(paths->paths[0], "/usr/bin/python3");
	assert_string_equal(paths->paths[1], "/usr/bin/python3.11");
	assert_string_equal(paths->paths[2], "/etc/python3.11/sitecustomize.py");
	const struct layer_spec *libs = find_layer(c, LAYER_SHARED_LIBS, 0);
	assert_non_null(libs);
	assert_int_equal(libs->n_paths, 2);
	assert_string_equal(libs->paths[0], "/usr/bin/python3.11");
	const struct layer_spec *g0 = find_layer(c, LAYER_GLOB, 0);
	assert_string_equal(g0->glob, "../../../usr/lib/python3.11/**");
	assert_string_equal(g0->prefix.strip_prefix, "../../..");
	assert_string_equal(find_layer(c, LAYER_GLOB, 1)->glob, "../../../opt/site/**");
	const struct layer_spec *proj = find_layer(c, LAYER_GLOB, 2);
	assert_string_equal(proj->glob, PYTEST_PROJECT_GLOB);
	assert_string_equal(proj->prefix.prepend_prefix, "/home/u/proj");
	assert_null(find_layer(c, LAYER_GLOB, 3));
	assert_string_equal(find_layer(c, LAYER_STUBS, 1)->paths[0], "/home/u/proj/");
	const struct layer_spec *plugin = find_layer(c, LAYER_PATHS, 1);
	assert_string_equal(plugin->paths[0], "/opt/mp/python/maelstrom_pytest_report.py");
	/* The default's mounts stay: /tmp does not hide /home/u/proj. */
	assert_true(has_mount(c, MOUNT_TMP));
	assert_false(c->enable_writable_file_system);
	assert_string_equal(env_value(c, "PYTHONPATH"),
			    "/opt/mp/python:$prev{PYTHONPATH:-$env{PYTHONPATH:-}}");
	assert_string_equal(env_value(c, "PYTEST_XDIST_AUTO_NUM_WORKERS"), "1");
	assert_string_equal(env_value(c, "PATH"),
			    "$prev{PATH:-/usr/bin:/usr/local/bin:/bin}");
	assert_true(c->environment[c->n_environment - 1].extend);
	assert_int_equal(spec.timeout_s, 0);
	job_spec_release(&spec);
	job_fixture_release(&f);
}

static void test_job_project_under_tmp(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f, directives_default_text(&filter_flavor_pytest), "/tmp/proj");
	struct job_spec spec = {0};
	bool ignored;
	struct err *e = NULL;
	assert_int_equal(pytest_job_make(&f.ctx, f.col.tests[0], &spec, &ignored, &e), 0);
	/* The tmpfs would hide the project: gone, and the root is writable. */
	assert_false(has_mount(&spec.container, MOUNT_TMP));
	assert_true(has_mount(&spec.container, MOUNT_PROC));
	assert_true(spec.container.enable_writable_file_system);
	job_spec_release(&spec);
	job_fixture_release(&f);
}

static void test_job_directives(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f,
		    "[[directives]]\n"
		    "include_shared_libraries = false\n"
		    "working_directory = \"/w\"\n"
		    "environment = { PYTHONPATH = \"/lib/py\" }\n"
		    "[[directives]]\n"
		    "filter = \"markers.contains(slow) && package.equals(tests)\"\n"
		    "timeout = 7\n"
		    "[[directives]]\n"
		    "filter = \"name.starts_with(Other)\"\n"
		    "ignore = true\n",
		    "/p");
	struct job_spec spec = {0};
	bool ignored = true;
	struct err *e = NULL;
	if (pytest_job_make(&f.ctx, f.col.tests[0], &spec, &ignored, &e) < 0)
		fail_msg("pytest_job_make: %s", err_msg(e));
	assert_false(ignored);
	assert_int_equal(spec.timeout_s, 7);
	assert_string_equal(spec.container.working_directory, "/w");
	/* Without the host's Python: no interpreter, library or directory layers. */
	assert_null(find_layer(&spec.container, LAYER_SHARED_LIBS, 0));
	assert_string_equal(find_layer(&spec.container, LAYER_GLOB, 0)->glob,
			    PYTEST_PROJECT_GLOB);
	assert_null(find_layer(&spec.container, LAYER_GLOB, 1));
	/* Our PYTHONPATH comes after the directives' and keeps it. */
	assert_int_equal(spec.container.n_environment, 2);
	assert_string_equal(spec.container.environment[0].vars[0].value, "/lib/py");
	job_spec_release(&spec);

	struct test_case *other = f.col.tests[0];
	free(other->name);
	other->name = strdup("Other::t");
	assert_int_equal(pytest_job_make(&f.ctx, other, &spec, &ignored, &e), 0);
	assert_true(ignored);
	job_spec_release(&spec);
	job_fixture_release(&f);

	/* On an image: its python3, no host interpreter layers, and the
	 * project's and the plugin's layers on top of the image's. */
	job_fixture(&f, "[[directives]]\nimage = \"docker://python:3.12\"\n", "/p");
	if (pytest_job_make(&f.ctx, f.col.tests[0], &spec, &ignored, &e) < 0)
		fail_msg("pytest_job_make: %s", err_msg(e));
	assert_string_equal(spec.program, "python3");
	assert_int_equal(spec.container.n_layers, 0);
	assert_true(spec.container.n_added_layers >= 3);
	for (size_t i = 0; i < spec.container.n_added_layers; i++)
		assert_int_not_equal(spec.container.added_layers[i].kind, LAYER_SHARED_LIBS);
	assert_string_equal(spec.container.added_layers[0].glob, PYTEST_PROJECT_GLOB);
	job_spec_release(&spec);
	/* A test case that maelstrom-pytest did not collect cannot run. */
	struct test_case stray = {.id = "x", .display = "x"};
	assert_int_equal(pytest_job_make(&f.ctx, &stray, &spec, &ignored, &e), -1);
	assert_non_null(strstr(err_msg(e), "not collected"));
	err_free(&e);
	job_spec_release(&spec);
	job_fixture_release(&f);
}

/* Warm containers: the run's zygote spec, its modules in the plugin layer,
 * and the ways to turn it off. */
static void test_job_fork_server(void **state)
{
	(void)state;
	struct job_fixture f;
	job_fixture(&f,
		    "[[directives]]\n"
		    "layers = [{ stubs = [\"/tmp/\"] }]\n"
		    "[[directives]]\n"
		    "filter = \"name.starts_with(Cold)\"\n"
		    "fork_server = false\n",
		    "/home/u/proj");
	const char *extra[] = {"-x"};
	const char *files[] = {"a.py", "sub/tests/test_a.py"};
	f.ctx.args = extra;
	f.ctx.n_args = 1;
	f.ctx.fork_server = true;
	f.ctx.files = files;
	f.ctx.n_files = 2;
	struct job_spec spec = {0};
	bool ignored;
	struct err *e = NULL;
	if (pytest_job_make(&f.ctx, f.col.tests[0], &spec, &ignored, &e) < 0)
		fail_msg("pytest_job_make: %s", err_msg(e));
	assert_string_equal(spec.fork_server.program, "/usr/bin/python3");
	const char *want[] = {"-m", "pytest", "-p", "no:cacheprovider", "-p",
			      "maelstrom_pytest_report", "-p", "maelstrom_pytest_zygote",
			      "--verbose", "-x", "a.py", "sub/tests/test_a.py"};
	assert_int_equal(spec.fork_server.n_arguments, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(spec.fork_server.arguments[i], want[i]);
	/* The job itself stays what runs cold. */
	assert_string_equal(spec.program, "/usr/bin/python3");
	assert_string_equal(spec.arguments[spec.n_arguments - 1],
			    "sub/tests/test_a.py::TestK::test_m[1]");
	assert_string_equal(spec.arguments[2], "--verbose");
	const struct layer_spec *plugin = find_layer(&spec.container, LAYER_PATHS, 1);
	assert_int_equal(plugin->n_paths, 3);
	assert_string_equal(plugin->paths[0], "/opt/mp/python/maelstrom_pytest_report.py");
	assert_string_equal(plugin->paths[1], "/opt/mp/python/maelstrom_fork_server.py");
	assert_string_equal(plugin->paths[2], "/opt/mp/python/maelstrom_pytest_zygote.py");
	json_t *warm_json = job_spec_to_json(&spec);
	job_spec_release(&spec);

	/* A directive turns it off for one test; the container stays the same. */
	struct test_case *tc = f.col.tests[0];
	char *name = tc->name;
	tc->name = strdup("Cold::t");
	assert_int_equal(pytest_job_make(&f.ctx, tc, &spec, &ignored, &e), 0);
	assert_null(spec.fork_server.program);
	json_t *cold_json = job_spec_to_json(&spec);
	json_object_del(warm_json, "fork_server");
	assert_true(json_equal(warm_json, cold_json));
	json_decref(warm_json);
	json_decref(cold_json);
	job_spec_release(&spec);
	free(tc->name);
	tc->name = name;

	/* No files known (nothing selected): cold. */
	f.ctx.n_files = 0;
	assert_int_equal(pytest_job_make(&f.ctx, tc, &spec, &ignored, &e), 0);
	assert_null(spec.fork_server.program);
	job_spec_release(&spec);

	/* fork-server = false: cold, and no zygote modules in the container. */
	f.ctx.n_files = 2;
	f.ctx.fork_server = false;
	assert_int_equal(pytest_job_make(&f.ctx, tc, &spec, &ignored, &e), 0);
	assert_null(spec.fork_server.program);
	assert_int_equal(find_layer(&spec.container, LAYER_PATHS, 1)->n_paths, 1);
	job_spec_release(&spec);
	job_fixture_release(&f);
}

/* The zygote started ahead (pytest_job_prewarm): the job of a test no
 * filter singles out, naming the very zygote the tests name when it
 * collects pytest's default; nothing when it cannot be known ahead. */
static void test_job_prewarm(void **state)
{
	(void)state;
	static const char *const base =
		"[[directives]]\n"
		"layers = [{ stubs = [\"/tmp/\"] }]\n"
		"[[directives]]\n"
		"filter = \"name.starts_with(Cold)\"\n"
		"fork_server = false\n"
		"[[directives]]\n"
		"filter = \"package.equals(other)\"\n"
		"added_environment = { OTHER = \"1\" }\n";
	struct job_fixture f;
	job_fixture(&f, base, "/home/u/proj");
	const char *extra[] = {"-x"};
	f.ctx.args = extra;
	f.ctx.n_args = 1;
	f.ctx.fork_server = true;
	f.ctx.zygote_collects_default = true;
	struct job_spec ahead = {0}, spec = {0};
	struct err *e = NULL;
	if (pytest_job_prewarm(&f.ctx, &ahead, &e) != 1)
		fail_msg("pytest_job_prewarm: %s", e ? err_msg(e) : "nothing to start");
	const char *want[] = {"-m", "pytest", "-p", "no:cacheprovider", "-p",
			      "maelstrom_pytest_report", "-p", "maelstrom_pytest_zygote",
			      "--verbose", "-x"};
	assert_int_equal(ahead.fork_server.n_arguments, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(ahead.fork_server.arguments[i], want[i]);
	/* A test's job (no files given: the zygote needs none) is the same
	 * but for the test it runs. */
	bool ignored = true;
	if (pytest_job_make(&f.ctx, f.col.tests[0], &spec, &ignored, &e) < 0)
		fail_msg("pytest_job_make: %s", err_msg(e));
	assert_false(ignored);
	assert_non_null(spec.fork_server.program);
	assert_int_equal(spec.n_arguments, ahead.n_arguments + 1);
	json_t *a = job_spec_to_json(&ahead), *t = job_spec_to_json(&spec);
	json_object_del(a, "arguments");
	json_object_del(t, "arguments");
	assert_true(json_equal(a, t));
	json_decref(a);
	json_decref(t);
	job_spec_release(&spec);
	job_spec_release(&ahead);

	/* Nothing ahead: fork servers off, files known only after collection,
	 * no interpreter yet. */
	f.ctx.zygote_collects_default = false;
	assert_int_equal(pytest_job_prewarm(&f.ctx, &ahead, &e), 0);
	f.ctx.zygote_collects_default = true;
	f.ctx.fork_server = false;
	assert_int_equal(pytest_job_prewarm(&f.ctx, &ahead, &e), 0);
	f.ctx.fork_server = true;
	f.ctx.python = NULL;
	assert_int_equal(pytest_job_prewarm(&f.ctx, &ahead, &e), 0);
	assert_null(ahead.program);
	job_fixture_release(&f);

	/* Every test cold, or ignored: nothing to start. */
	static const char *const off[] = {"[[directives]]\nfork_server = false\n",
					  "[[directives]]\nignore = true\n"};
	for (size_t i = 0; i < ARRAY_SIZE(off); i++) {
		job_fixture(&f, off[i], "/home/u/proj");
		f.ctx.fork_server = true;
		f.ctx.zygote_collects_default = true;
		assert_int_equal(pytest_job_prewarm(&f.ctx, &ahead, &e), 0);
		assert_null(ahead.program);
		job_fixture_release(&f);
	}
}

static bool not_b(void *arg, const struct test_case *tc)
{
	(void)arg;
	return strstr(tc->id, "b.py") == NULL;
}

/* The zygote's files: distinct, sorted, selected only. */
static void test_job_files(void **state)
{
	(void)state;
	struct pytest_collection c = {.exit_code = -1};
	const char *ids[] = {"z/c.py::t1", "b.py::t", "a.py::K::t[x::y]", "z/c.py::t2", "a.py::u"};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		char rec[512];
		snprintf(rec, sizeof(rec), "{\"type\": \"test\", \"node_id\": \"%s\"}", ids[i]);
		feed(&c, rec);
	}
	char *f = pytest_job_file_of(c.tests[2]);
	assert_string_equal(f, "a.py");
	free(f);
	char **v = pytest_job_files(c.tests, c.n_tests, NULL, NULL);
	assert_int_equal(strv_len((const char *const *)v), 3);
	assert_string_equal(v[0], "a.py");
	assert_string_equal(v[1], "b.py");
	assert_string_equal(v[2], "z/c.py");
	strv_free(v);
	v = pytest_job_files(c.tests, c.n_tests, not_b, NULL);
	assert_int_equal(strv_len((const char *const *)v), 2);
	assert_string_equal(v[1], "z/c.py");
	strv_free(v);
	v = pytest_job_files(c.tests, 0, NULL, NULL);
	assert_null(v[0]);
	strv_free(v);
	struct test_case stray = {.id = "x", .display = "x"};
	assert_null(pytest_job_file_of(&stray));
	pytest_collection_release(&c);
}

/* ---- interpreters and helpers --------------------------------------------------------- */

struct tmpdir {
	char path[4096];
};

static void tmpdir_make(struct tmpdir *t)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(t->path, sizeof(t->path), "%s/test_pytest.XXXXXX", tmp);
	assert_non_null(mkdtemp(t->path));
}

static void tmpdir_remove(struct tmpdir *t)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
	assert_int_equal(system(cmd), 0);
}

/* Writes `name` in t with body; returns its path (static). */
static const char *write_file(struct tmpdir *t, const char *name, const char *body, int mode)
{
	static char path[4200];
	snprintf(path, sizeof(path), "%s/%s", t->path, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(body, f);
	fclose(f);
	assert_int_equal(chmod(path, (mode_t)mode), 0);
	return path;
}

/* The "python" record back to JSON, and the file keeping the last run's
 * interpreter: what is saved loads back equal; what is not there or not
 * such a file says so. */
static void test_python_cache(void **state)
{
	(void)state;
	struct pytest_collection c = {.exit_code = -1};
	feed(&c, python_rec);
	json_t *want = json_loads(python_rec, 0, NULL);
	json_t *got = pytest_python_to_json(&c.python);
	assert_true(json_equal(want, got));
	json_decref(got);

	struct tmpdir t;
	tmpdir_make(&t);
	char path[4200];
	snprintf(path, sizeof(path), "%s/python.json", t.path);
	char *interp = NULL;
	struct pytest_python py;
	struct err *e = NULL;
	assert_int_equal(pytest_python_cache_load(path, &interp, &py, &e), 0);
	assert_null(interp);
	if (pytest_python_cache_save(path, "python3", &c.python, &e) < 0)
		fail_msg("save: %s", err_msg(e));
	assert_int_equal(pytest_python_cache_load(path, &interp, &py, &e), 1);
	assert_string_equal(interp, "python3");
	got = pytest_python_to_json(&py);
	assert_true(json_equal(want, got));
	json_decref(got);
	free(interp);
	pytest_python_release(&py);
	/* Saved again: replaced whole. */
	free(c.python.version);
	c.python.version = strdup("3.12.0");
	assert_int_equal(pytest_python_cache_save(path, "/usr/bin/python3", &c.python, &e), 0);
	assert_int_equal(pytest_python_cache_load(path, &interp, &py, &e), 1);
	assert_string_equal(interp, "/usr/bin/python3");
	assert_string_equal(py.version, "3.12.0");
	free(interp);
	pytest_python_release(&py);

	static const char *const bad[] = {
		"{\"interpreter\": \"python3\", \"python\": {\"executable\": \"python3\"}}",
		"{\"python\": {\"executable\": \"/usr/bin/python3\"}}",
		"[1, 2",
	};
	static const char *const says[] = {"`executable` (python3) is not an absolute path",
					   "`interpreter` is not a non-empty string",
					   "delete the file"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_file(&t, "python.json", bad[i], 0644);
		interp = NULL;
		assert_int_equal(pytest_python_cache_load(path, &interp, &py, &e), -1);
		assert_null(interp);
		if (!strstr(err_msg(e), says[i]) || !strstr(err_msg(e), path))
			fail_msg("case %zu: %s", i, err_msg(e));
		err_free(&e);
	}
	tmpdir_remove(&t);
	json_decref(want);
	pytest_collection_release(&c);
}

static void test_candidates_and_helpers(void **state)
{
	(void)state;
	char **v = pytest_python_candidates("/opt/py/bin/python3");
	assert_int_equal(strv_len((const char *const *)v), 1);
	assert_string_equal(v[0], "/opt/py/bin/python3");
	strv_free(v);
	v = pytest_python_candidates("");
	assert_string_equal(v[0], "python3");
	assert_true(strv_len((const char *const *)v) <= 2);
	if (v[1])
		assert_string_equal(v[1], "/usr/bin/python3");
	strv_free(v);

	struct tmpdir t;
	tmpdir_make(&t);
	char *old = getenv(PYTEST_HELPERS_ENV) ? strdup(getenv(PYTEST_HELPERS_ENV)) : NULL;
	struct err *e = NULL;
	char *dir = NULL;
	setenv(PYTEST_HELPERS_ENV, t.path, 1);
	assert_int_equal(pytest_helpers_dir(&dir, &e), -1);
	assert_non_null(strstr(err_msg(e), PYTEST_HELPERS_ENV));
	assert_non_null(strstr(err_msg(e), PYTEST_COLLECT_SCRIPT));
	err_free(&e);
	write_file(&t, PYTEST_COLLECT_SCRIPT, "", 0644);
	assert_int_equal(pytest_helpers_dir(&dir, &e), 0);
	char *real = realpath(t.path, NULL);
	assert_string_equal(dir, real);
	free(real);
	free(dir);
	if (old)
		setenv(PYTEST_HELPERS_ENV, old, 1);
	else
		unsetenv(PYTEST_HELPERS_ENV);
	free(old);
	tmpdir_remove(&t);
}

/* ---- the collection, against stand-in interpreters -------------------------------------- */

struct collect_seen {
	int calls;
	struct pytest_collection res;
	struct reactor *r;
};

static void on_collected(void *arg, struct pytest_collection *res)
{
	struct collect_seen *s = arg;
	s->calls++;
	s->res = *res;
	memset(res, 0, sizeof(*res));
	reactor_stop(s->r);
}

static void collect(const char *const *cands, const char *helpers, const char *project,
		    const char *const *args, size_t n_args, struct collect_seen *s)
{
	memset(s, 0, sizeof(*s));
	struct err *e = NULL;
	if (reactor_new(&s->r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	struct pytest_collect_opts o = {
		.candidates = cands,
		.helpers_dir = helpers,
		.project_dir = project,
		.args = args,
		.n_args = n_args,
	};
	struct pytest_collect *c = pytest_collect_start(s->r, &o, on_collected, s);
	if (reactor_run(s->r, &e) < 0)
		fail_msg("reactor_run: %s", err_msg(e));
	assert_int_equal(s->calls, 1);
	pytest_collect_free(c);
	reactor_free(s->r);
}

static void test_collect_tries_interpreters(void **state)
{
	(void)state;
	struct tmpdir t;
	tmpdir_make(&t);
	char cands[4][4300];
	/* Each stand-in gets the helper's path, then the pytest arguments. */
	snprintf(cands[0], sizeof(cands[0]), "%s",
		 write_file(&t, "nopytest",
			    "#!/bin/sh\necho '{\"type\": \"no-pytest\", \"error\": "
			    "\"ModuleNotFoundError: No module named pytest\"}'\nexit 3\n", 0755));
	snprintf(cands[1], sizeof(cands[1]), "%s",
		 write_file(&t, "broken", "#!/bin/sh\necho 'cannot start: bad magic' >&2\nexit 1\n",
			    0755));
	snprintf(cands[2], sizeof(cands[2]), "%s/missing", t.path);
	snprintf(cands[3], sizeof(cands[3]), "%s",
		 write_file(&t, "good",
			    "#!/bin/sh\n"
			    "test \"$2\" = --pyargs || exit 9\n"
			    "echo '{\"type\": \"python\", \"executable\": \"/usr/bin/python3\"}'\n"
			    "echo '{\"type\": \"test\", \"node_id\": \"t.py::a\"}'\n"
			    "echo 'pytest chatter' >&2\n"
			    "echo '{\"type\": \"test\", \"node_id\": \"t.py::b\"}'\n"
			    "echo '{\"type\": \"done\", \"exit\": 0}'\n",
			    0755));
	const char *all[] = {cands[0], cands[1], cands[2], cands[3], NULL};
	const char *args[] = {"--pyargs", "mod"};
	struct collect_seen s;
	collect(all, t.path, t.path, args, 2, &s);
	assert_true(s.res.found);
	assert_false(s.res.failed);
	assert_string_equal(s.res.interpreter, cands[3]);
	assert_int_equal(s.res.n_tests, 2);
	assert_string_equal(s.res.tests[1]->node_id, "t.py::b");
	assert_string_equal(s.res.python.executable, "/usr/bin/python3");
	pytest_collection_release(&s.res);

	/* None works: every interpreter is named with what it said. */
	const char *bad[] = {cands[0], cands[1], cands[2], NULL};
	collect(bad, t.path, t.path, NULL, 0, &s);
	assert_false(s.res.found);
	assert_true(s.res.failed);
	const char *msg = s.res.message;
	assert_non_null(strstr(msg, "no Python interpreter with pytest found"));
	assert_non_null(strstr(msg, "No module named pytest"));
	assert_non_null(strstr(msg, "cannot start: bad magic"));
	assert_non_null(strstr(msg, "exited with status 1"));
	assert_non_null(strstr(msg, cands[2]));
	assert_non_null(strstr(msg, "MAELSTROM_PYTEST_PYTHON"));
	assert_true(strstr(msg, cands[0]) < strstr(msg, cands[1]));
	pytest_collection_release(&s.res);

	/* Nothing can even start: still reported through the callback. */
	const char *none[] = {cands[2], NULL};
	collect(none, t.path, t.path, NULL, 0, &s);
	assert_true(s.res.failed);
	assert_non_null(strstr(s.res.message, cands[2]));
	pytest_collection_release(&s.res);

	/* pytest found, collection failed: its report is the message, and the
	 * tests it did collect are kept. */
	const char *err_script[] = {
		write_file(&t, "collecterr",
			   "#!/bin/sh\n"
			   "echo '{\"type\": \"python\", \"executable\": \"/usr/bin/python3\"}'\n"
			   "echo '{\"type\": \"test\", \"node_id\": \"ok.py::a\"}'\n"
			   "echo 'ERROR collecting t_bad.py: ImportError' >&2\n"
			   "echo '{\"type\": \"done\", \"exit\": 2}'\nexit 2\n",
			   0755),
		NULL};
	collect(err_script, t.path, t.path, NULL, 0, &s);
	assert_true(s.res.found);
	assert_true(s.res.failed);
	assert_int_equal(s.res.n_tests, 1);
	assert_non_null(strstr(s.res.message, "pytest could not collect the tests"));
	assert_non_null(strstr(s.res.message, "ERROR collecting t_bad.py: ImportError"));
	pytest_collection_release(&s.res);
	tmpdir_remove(&t);
}

/* ---- the real helpers, with the system's pytest ---------------------------------------- */

/* The source tree's helpers, or NULL (then the tests below are skipped). */
static char *source_helpers(void)
{
	char *dir = NULL;
	struct err *e = NULL;
	if (pytest_helpers_dir(&dir, &e) == 0)
		return dir;
	err_free(&e);
	return realpath("runners/pytest/python", NULL);
}

static bool system_pytest(void)
{
	return system("/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1") == 0;
}

static const char project_py[] =
	"import pytest\n"
	"def test_ok(): pass\n"
	"@pytest.mark.skip(reason='not today')\n"
	"def test_skipped(): pass\n"
	"@pytest.mark.xfail(reason='bug 3')\n"
	"def test_xf(): assert 0\n"
	"@pytest.mark.slow\n"
	"class TestK:\n"
	"    @pytest.mark.parametrize('n', [1, 2])\n"
	"    def test_p(self, n): assert n\n";

static void test_real_helpers(void **state)
{
	(void)state;
	_cleanup_free_ char *helpers = source_helpers();
	if (!helpers || !system_pytest()) {
		print_message("skipped: no helpers or no pytest for /usr/bin/python3\n");
		return;
	}
	struct tmpdir t;
	tmpdir_make(&t);
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/pkg", t.path);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_file(&t, "pkg/__init__.py", "", 0644);
	write_file(&t, "pkg/test_m.py", project_py, 0644);
	write_file(&t, "pytest.ini", "[pytest]\nmarkers = slow\n", 0644);
	char *project = realpath(t.path, NULL);

	const char *cands[] = {"/usr/bin/python3", NULL};
	const char *args[] = {"-p", "no:xdist"};
	struct collect_seen s;
	collect(cands, helpers, project, args, 2, &s);
	if (s.res.failed)
		fail_msg("collection failed: %s", s.res.message);
	assert_true(s.res.found);
	assert_int_equal(s.res.exit_code, 0);
	assert_int_equal(s.res.n_tests, 5);
	const struct test_case *p2 = s.res.tests[4];
	assert_string_equal(p2->node_id, "pkg/test_m.py::TestK::test_p[2]");
	assert_string_equal(p2->name, "TestK::test_p[2]");
	assert_string_equal(p2->file, "pkg/test_m.py");
	assert_string_equal(p2->package, "pkg");
	assert_non_null(p2->markers);
	bool slow = false;
	for (char **m = p2->markers; *m; m++)
		slow |= strcmp(*m, "slow") == 0;
	assert_true(slow);
	const struct pytest_case *skipped = pytest_case_of(s.res.tests[1]);
	assert_true(skipped->skip);
	assert_string_equal(skipped->skip_reason, "not today");
	assert_non_null(s.res.python.dirs[0]);
	assert_int_equal(s.res.python.real_executable[0], '/');

	/* The report plugin, run as the jobs run it, and our reading of it. */
	static const struct {
		const char *node;
		enum pytest_result want;
	} runs[] = {
		{"pkg/test_m.py::test_ok", PYTEST_PASSED},
		{"pkg/test_m.py::test_skipped", PYTEST_SKIPPED},
		{"pkg/test_m.py::test_xf", PYTEST_XFAILED},
		{"pkg/test_m.py::test_gone", PYTEST_NONE},
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char cmd[9000];
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && PYTHONPATH='%s' PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m "
			 "pytest -p no:cacheprovider -p %s '%s' >/dev/null 2>err.txt",
			 project, helpers, PYTEST_REPORT_PLUGIN, runs[i].node);
		(void)system(cmd);
		char path[4300], buf[65536];
		snprintf(path, sizeof(path), "%s/err.txt", project);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		struct captured c = {.data = strdup(buf), .len = n};
		struct pytest_outcome o;
		struct err *e = NULL;
		if (pytest_outcome_take(&c, &o, &e) != 1)
			fail_msg("%s: no outcome line in `%s` (%s)", runs[i].node, buf, err_msg(e));
		assert_int_equal(o.result, runs[i].want);
		if (runs[i].want == PYTEST_SKIPPED)
			assert_string_equal(o.reason, "not today");
		if (runs[i].want == PYTEST_XFAILED)
			assert_string_equal(o.reason, "bug 3");
		pytest_outcome_release(&o);
		free(c.data);
	}
	pytest_collection_release(&s.res);
	free(project);
	tmpdir_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_from_record),
		cmocka_unit_test(test_case_defaults_and_errors),
		cmocka_unit_test(test_collection_records),
		cmocka_unit_test(test_outcome_take),
		cmocka_unit_test(test_outcome_map),
		cmocka_unit_test(test_glob_below),
		cmocka_unit_test(test_job_default),
		cmocka_unit_test(test_job_project_under_tmp),
		cmocka_unit_test(test_job_directives),
		cmocka_unit_test(test_job_fork_server),
		cmocka_unit_test(test_job_prewarm),
		cmocka_unit_test(test_job_files),
		cmocka_unit_test(test_python_cache),
		cmocka_unit_test(test_candidates_and_helpers),
		cmocka_unit_test(test_collect_tries_interpreters),
		cmocka_unit_test(test_real_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
