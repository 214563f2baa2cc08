/* Unit tests for runners/directives: every error message of the test
 * runners' spec files, and loading a file from disk (the rest is in
 * test_directives.c and test_directives_containers.c; the shared fixture is
 * in directives_fixture.h). */
#include "directives_fixture.h"

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
	check_error_fl("[[directives]]\nfork_server = \"no\"\n", &filter_flavor_pytest,
		       DEF ":2:15: field `directives[0].fork_server`: expected true or false");
	check_error("[[directives]]\nfork_server = false\n",
		    DEF ":2:15: field `directives[0].fork_server`: only maelstrom-pytest runs "
			"tests from a fork server; remove this field");
	check_error_fl("[[directives]]\nfork_servers = false\n", &filter_flavor_pytest,
		       DEF ":2:16: unknown field `directives[0].fork_servers` (did you mean "
			   "`fork_server`?)");
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
		cmocka_unit_test(test_errors_top_level),
		cmocka_unit_test(test_errors_directive_fields),
		cmocka_unit_test(test_errors_layers_mounts_env),
		cmocka_unit_test(test_errors_inheritance),
		cmocka_unit_test(test_errors_named_containers),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
