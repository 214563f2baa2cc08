/* Unit tests for core/spec_json (maelstrom-run job objects) and core/spec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/spec_json.h"

static json_t *parse_json(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
	if (!j)
		fail_msg("bad test JSON (%s): %s", je.text, text);
	return j;
}

/* Reads text as a job spec; the test fails when that fails. */
static void read_ok(const char *text, struct job_spec *spec)
{
	json_t *j = parse_json(text);
	struct err *e = NULL;
	if (job_spec_from_json(j, spec, &e) < 0)
		fail_msg("job_spec_from_json: %s\n  for %s", err_msg(e), text);
	json_decref(j);
}

/* Reads text and expects exactly the error message want. */
static void read_fails(const char *text, const char *want)
{
	json_t *j = parse_json(text);
	struct job_spec spec;
	memset(&spec, 0xa5, sizeof(spec));
	struct err *e = NULL;
	assert_int_equal(job_spec_from_json(j, &spec, &e), -1);
	assert_non_null(e);
	if (strcmp(e->msg, want) != 0)
		fail_msg("for %s\n  got:  %s\n  want: %s", text, e->msg, want);
	/* The spec is released and zeroed on failure. */
	assert_null(spec.program);
	assert_null(spec.container.layers);
	err_free(&e);
	json_decref(j);
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(s);
	return s;
}

static void test_minimal(void **state)
{
	(void)state;
	struct job_spec s;
	read_ok("{\"program\": \"/bin/true\", \"layers\": []}", &s);
	assert_string_equal(s.program, "/bin/true");
	assert_int_equal(s.n_arguments, 0);
	assert_int_equal(s.container.n_layers, 0);
	assert_null(s.container.image.name);
	assert_int_equal(s.container.network, NETWORK_DISABLED);
	assert_null(s.container.working_directory);
	assert_int_equal(s.container.user, 0);
	assert_int_equal(s.timeout_s, 0);
	assert_int_equal(s.estimated_duration_ms, 0);
	assert_false(job_spec_is_local_only(&s));
	job_spec_release(&s);
	assert_null(s.program);
	job_spec_release(&s); /* again, on the zeroed spec */
}

static void test_full(void **state)
{
	(void)state;
	struct job_spec s;
	read_ok("{\"image\": {\"name\": \"docker://ubuntu\", \"use\": [\"layers\", "
		"\"working_directory\"]},"
		" \"program\": \"echo\", \"arguments\": [\"hello\", \"world\"],"
		" \"environment\": [{\"vars\": {\"PATH\": \"$prev{PATH}\"}, \"extend\": false},"
		"                   {\"vars\": {\"BAR\": \"$env{BAR}\"}, \"extend\": true}],"
		" \"added_layers\": [{\"stubs\": [\"/foo/{bar,baz}\"]}],"
		" \"mounts\": [{\"type\": \"proc\", \"mount_point\": \"/proc\"},"
		"             {\"type\": \"devices\", \"devices\": [\"null\", \"zero\"]},"
		"             {\"type\": \"bind\", \"mount_point\": \"/out\", \"local_path\": \"out\","
		"              \"read_only\": true}],"
		" \"network\": \"loopback\", \"enable_writable_file_system\": true,"
		" \"user\": 1234, \"group\": 4321, \"timeout\": 5,"
		" \"estimated_duration\": {\"secs\": 2, \"nanos\": 500000000}, \"priority\": -3}",
		&s);
	const struct container_spec *c = &s.container;
	assert_string_equal(c->image.name, "docker://ubuntu");
	assert_true(c->image.use_layers);
	assert_false(c->image.use_environment);
	assert_true(c->image.use_working_directory);
	assert_int_equal(s.n_arguments, 2);
	assert_string_equal(s.arguments[1], "world");
	assert_int_equal(c->n_environment, 2);
	assert_false(c->environment[0].extend);
	assert_true(c->environment[1].extend);
	assert_string_equal(c->environment[0].vars[0].name, "PATH");
	assert_string_equal(c->environment[0].vars[0].value, "$prev{PATH}");
	assert_int_equal(c->n_layers, 0);
	assert_int_equal(c->n_added_layers, 1);
	assert_int_equal(c->added_layers[0].kind, LAYER_STUBS);
	assert_string_equal(c->added_layers[0].paths[0], "/foo/{bar,baz}");
	assert_int_equal(c->n_mounts, 3);
	assert_int_equal(c->mounts[0].kind, MOUNT_PROC);
	assert_string_equal(c->mounts[0].mount_point, "/proc");
	assert_int_equal(c->mounts[1].kind, MOUNT_DEVICES);
	assert_int_equal(c->mounts[1].devices, DEVICE_NULL | DEVICE_ZERO);
	assert_int_equal(c->mounts[2].kind, MOUNT_BIND);
	assert_string_equal(c->mounts[2].local_path, "out");
	assert_true(c->mounts[2].read_only);
	assert_int_equal(c->network, NETWORK_LOOPBACK);
	assert_true(c->enable_writable_file_system);
	assert_int_equal(c->user, 1234);
	assert_int_equal(c->group, 4321);
	assert_int_equal(s.timeout_s, 5);
	assert_int_equal(s.estimated_duration_ms, 2500);
	assert_int_equal(s.priority, -3);
	assert_true(job_spec_is_local_only(&s)); /* the bind mount */
	job_spec_release(&s);
}

static void test_image_forms(void **state)
{
	(void)state;
	static const char *const same[] = {
		"{\"image\": {\"name\": \"docker://ubuntu\", \"use\": [\"layers\", \"environment\"]},"
		" \"program\": \"echo\"}",
		"{\"image\": {\"name\": \"docker://ubuntu\"}, \"program\": \"echo\"}",
		"{\"image\": \"docker://ubuntu\", \"program\": \"echo\"}",
	};
	for (size_t i = 0; i < 3; i++) {
		struct job_spec s;
		read_ok(same[i], &s);
		assert_string_equal(s.container.image.name, "docker://ubuntu");
		assert_true(s.container.image.use_layers);
		assert_true(s.container.image.use_environment);
		assert_false(s.container.image.use_working_directory);
		job_spec_release(&s);
	}
}

static void test_environment_modes(void **state)
{
	(void)state;
	struct job_spec s;
	read_ok("{\"layers\": [], \"program\": \"env\","
		" \"environment\": {\"FOO\": \"foo\", \"BAR\": \"$env{BAR}\"}}", &s);
	assert_int_equal(s.container.n_environment, 1);
	assert_false(s.container.environment[0].extend);
	assert_int_equal(s.container.environment[0].n_vars, 2);
	assert_string_equal(s.container.environment[0].vars[0].name, "FOO");
	assert_string_equal(s.container.environment[0].vars[1].value, "$env{BAR}");
	job_spec_release(&s);

	read_ok("{\"image\": {\"name\": \"x\", \"use\": [\"layers\"]}, \"program\": \"env\","
		" \"environment\": {\"FOO\": \"foo\"}}", &s);
	assert_int_equal(s.container.n_environment, 1);
	job_spec_release(&s);
}

static void test_layer_kinds(void **state)
{
	(void)state;
	struct job_spec s;
	read_ok("{\"program\": \"/ls\", \"layers\": ["
		" {\"tar\": \"a.tar\"},"
		" {\"glob\": \"src/**.py\", \"strip_prefix\": \"src/\", \"prepend_prefix\": \"/app/\"},"
		" {\"paths\": [\"busybox\", \"/etc/passwd\"], \"follow_symlinks\": true,"
		"  \"canonicalize\": true},"
		" {\"stubs\": [\"/dev/{null,zero}\", \"/tmp/\"]},"
		" {\"symlinks\": [{\"link\": \"/ls\", \"target\": \"/busybox\"}]},"
		" {\"shared-library-dependencies\": [\"/bin/sh\"], \"prepend_prefix\": \"/x\"}]}",
		&s);
	const struct layer_spec *l = s.container.layers;
	assert_int_equal(s.container.n_layers, 6);
	assert_int_equal(l[0].kind, LAYER_TAR);
	assert_string_equal(l[0].path, "a.tar");
	assert_int_equal(l[1].kind, LAYER_GLOB);
	assert_string_equal(l[1].glob, "src/**.py");
	assert_string_equal(l[1].prefix.strip_prefix, "src/");
	assert_string_equal(l[1].prefix.prepend_prefix, "/app/");
	assert_false(l[1].prefix.canonicalize);
	assert_int_equal(l[2].kind, LAYER_PATHS);
	assert_int_equal(l[2].n_paths, 2);
	assert_string_equal(l[2].paths[1], "/etc/passwd");
	assert_true(l[2].prefix.follow_symlinks);
	assert_true(l[2].prefix.canonicalize);
	assert_int_equal(l[3].kind, LAYER_STUBS);
	assert_int_equal(l[3].n_paths, 2);
	assert_int_equal(l[4].kind, LAYER_SYMLINKS);
	assert_int_equal(l[4].n_symlinks, 1);
	assert_string_equal(l[4].symlinks[0].link, "/ls");
	assert_string_equal(l[4].symlinks[0].target, "/busybox");
	assert_int_equal(l[5].kind, LAYER_SHARED_LIBS);
	assert_string_equal(l[5].paths[0], "/bin/sh");
	assert_string_equal(l[5].prefix.prepend_prefix, "/x");
	job_spec_release(&s);
}

static void test_nulls_and_durations(void **state)
{
	(void)state;
	struct job_spec s;
	read_ok("{\"layers\": [], \"program\": \"p\", \"timeout\": null, \"image\": null,"
		" \"estimated_duration\": 1500, \"user\": 4294967295}", &s);
	assert_int_equal(s.timeout_s, 0);
	assert_null(s.container.image.name);
	assert_int_equal(s.estimated_duration_ms, 1500);
	assert_int_equal(s.container.user, UINT32_MAX);
	job_spec_release(&s);
	read_ok("{\"layers\": [], \"program\": \"p\", \"estimated_duration\": {\"secs\": 3},"
		" \"network\": \"local\"}", &s);
	assert_int_equal(s.estimated_duration_ms, 3000);
	assert_true(job_spec_is_local_only(&s));
	job_spec_release(&s);
}

struct error_case {
	const char *json;
	const char *msg;
};

static void test_errors(void **state)
{
	(void)state;
#define P "\"program\": \"p\""
#define L "\"layers\": []"
	static const struct error_case cases[] = {
		{ "[]", "a job spec must be a JSON object, got an array" },
		{ "{" L "}", "missing field `program`: every job needs the program to run" },
		{ "{\"progam\": \"x\", " L "}", "unknown field `progam` (did you mean `program`?)" },
		{ "{" P ", " L ", \"bogus\": 1}",
		  "unknown field `bogus`: expected `image`, `program`, `arguments`, `environment`, "
		  "`layers`, `added_layers`, `mounts`, `network`, `enable_writable_file_system`, "
		  "`working_directory`, `user`, `group`, `timeout`, `estimated_duration`, "
		  "`priority` or `fork_server`" },
		{ "{\"program\": 3, " L "}", "field `program`: expected a string, got a number" },
		{ "{\"program\": \"\", " L "}", "field `program`: must not be empty" },
		{ "{" P "}",
		  "missing field `layers`: give the job's layers, or an `image` with a `use` of "
		  "`layers`" },
		{ "{" P ", \"image\": \"docker://x\", " L "}",
		  "field `layers`: cannot be used when `image` has a `use` of `layers`: put the "
		  "extra layers in `added_layers`" },
		{ "{" P ", " L ", \"added_layers\": []}",
		  "field `added_layers`: only allowed with an `image` that has a `use` of "
		  "`layers`: use `layers` instead" },
		{ "{" P ", \"image\": \"docker://x\", \"environment\": {\"A\": \"b\"}}",
		  "field `environment`: must provide `extend` flags (a list of {\"vars\": {...}, "
		  "\"extend\": true|false}) when `image` has a `use` of `environment`: say "
		  "whether it extends the image's environment or replaces it" },
		{ "{" P ", \"image\": {\"name\": \"x\", \"use\": [\"layers\", \"working_directory\"]},"
		  " \"working_directory\": \"/root\"}",
		  "field `working_directory`: cannot be set when `image` has a `use` of "
		  "`working_directory`: drop one of them" },
		{ "{" P ", \"image\": {\"name\": \"x\", \"use\": [\"layer\"]}}",
		  "field `image.use[0]`: unknown image part `layer` (did you mean `layers`?)" },
		{ "{" P ", \"image\": {\"name\": \"x\", \"use\": []}}",
		  "field `image.use`: must list at least one of `layers`, `environment` or "
		  "`working_directory`" },
		{ "{" P ", \"image\": {\"use\": [\"layers\"]}}",
		  "missing field `image.name`: say which image to use, e.g. \"docker://ubuntu\"" },
		{ "{" P ", \"image\": 7}", "field `image`: expected a string or an object, got a number" },
		{ "{" P ", \"image\": {\"name\": \"x\", \"usse\": []}}",
		  "unknown field `image.usse` (did you mean `use`?)" },
		{ "{" P ", \"layers\": [{\"tar\": \"a\"}, {\"paths\": [3]}]}",
		  "field `layers[1].paths[0]`: expected a string, got a number" },
		{ "{" P ", \"layers\": [{\"paths\": [\"x\", []]}]}",
		  "field `layers[0].paths[1]`: expected a string, got an array" },
		{ "{" P ", \"layers\": [{\"paths\": [\"a\"], \"strip_prefx\": \"b\"}]}",
		  "unknown field `layers[0].strip_prefx` (did you mean `strip_prefix`?)" },
		{ "{" P ", \"layers\": [{\"tar\": \"a\", \"strip_prefix\": \"b\"}]}",
		  "field `layers[0].strip_prefix`: `tar` layers take no prefix options" },
		{ "{" P ", \"layers\": [{\"tar\": \"a\", \"glob\": \"b\"}]}",
		  "field `layers[0]`: `tar` and `glob` cannot be combined: a layer object has "
		  "exactly one kind" },
		{ "{" P ", \"layers\": [{\"path\": \"a\"}]}",
		  "unknown field `layers[0].path` (did you mean `paths`?)" },
		{ "{" P ", \"layers\": [{}]}",
		  "field `layers[0]`: a layer needs one of `tar`, `glob`, `paths`, `stubs`, "
		  "`symlinks` or `shared-library-dependencies`" },
		{ "{" P ", \"layers\": [\"a.tar\"]}",
		  "field `layers[0]`: expected a layer object, got a string" },
		{ "{" P ", \"layers\": [{\"glob\": \"src/[a\"}]}",
		  "field `layers[0].glob`: unclosed `[` at column 5 in glob `src/[a`: add the "
		  "closing `]` or escape it as `\\[`" },
		{ "{" P ", \"layers\": [{\"glob\": \"/etc/*\"}]}",
		  "field `layers[0].glob`: `/etc/*` is absolute: glob patterns match paths "
		  "relative to the project directory (use a `paths` layer for absolute paths)" },
		{ "{" P ", \"layers\": [{\"stubs\": [\"/ok\", \"/dev/{null\"]}]}",
		  "field `layers[0].stubs[1]`: unmatched `{` at column 6 in `/dev/{null`: add the "
		  "closing `}` or escape it as `\\{`" },
		{ "{" P ", \"layers\": [{\"symlinks\": [{\"link\": \"/a\"}]}]}",
		  "missing field `layers[0].symlinks[0].target`: give the path the symlink "
		  "points to" },
		{ "{" P ", \"layers\": [{\"symlinks\": [{\"link\": \"/a\", \"target\": \"/b\","
		  " \"targt\": 1}]}]}",
		  "unknown field `layers[0].symlinks[0].targt` (did you mean `target`?)" },
		{ "{" P ", \"layers\": [{\"paths\": [\"a\"], \"canonicalize\": \"yes\"}]}",
		  "field `layers[0].canonicalize`: expected true or false, got a string" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"proc\", \"mount_point\": \"proc\"}]}",
		  "field `mounts[0].mount_point`: `proc` is not absolute: mount points are paths "
		  "inside the container and start with `/`" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"prc\", \"mount_point\": \"/proc\"}]}",
		  "field `mounts[0].type`: unknown mount type `prc` (did you mean `proc`?)" },
		{ "{" P ", " L ", \"mounts\": [{\"mount_point\": \"/proc\"}]}",
		  "missing field `mounts[0].type`: say which kind of mount this is: `bind`, "
		  "`devices`, `devpts`, `mqueue`, `proc`, `sys` or `tmp`" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"tmp\"}]}",
		  "missing field `mounts[0].mount_point`: give the absolute path inside the "
		  "container to mount on" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"proc\", \"mount_point\": \"/p\","
		  " \"local_path\": \"x\"}]}",
		  "unknown field `mounts[0].local_path`: expected `type` or `mount_point`" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"bind\", \"mount_point\": \"/o\"}]}",
		  "missing field `mounts[0].local_path`: give the client's path to mount, "
		  "relative to the project directory" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"devices\", \"devices\": [\"nul\"]}]}",
		  "field `mounts[0].devices[0]`: unknown device `nul` (did you mean `null`?)" },
		{ "{" P ", " L ", \"mounts\": [{\"type\": \"devices\", \"devices\": [\"sda\"]}]}",
		  "field `mounts[0].devices[0]`: unknown device `sda`: expected `full`, `fuse`, "
		  "`null`, `random`, `shm`, `tty`, `urandom` or `zero`" },
		{ "{" P ", " L ", \"network\": \"internet\"}",
		  "field `network`: unknown network `internet`: expected `disabled`, "
		  "`loopback` or `local`" },
		{ "{" P ", " L ", \"network\": \"loopbak\"}",
		  "field `network`: unknown network `loopbak` (did you mean `loopback`?)" },
		{ "{" P ", " L ", \"user\": -1}",
		  "field `user`: expected a non-negative integer, got -1" },
		{ "{" P ", " L ", \"group\": 4294967296}",
		  "field `group`: 4294967296 is out of range (0 to 4294967295)" },
		{ "{" P ", " L ", \"timeout\": 1.5}", "field `timeout`: expected an integer, got 1.5" },
		{ "{" P ", " L ", \"timeout\": \"1\"}",
		  "field `timeout`: expected an integer, got a string" },
		{ "{" P ", " L ", \"priority\": 2147483648}",
		  "field `priority`: 2147483648 is out of range (-2147483648 to 2147483647)" },
		{ "{" P ", " L ", \"estimated_duration\": {\"secs\": 1, \"nanos\": 1000000000}}",
		  "field `estimated_duration.nanos`: 1000000000 is out of range (0 to 999999999)" },
		{ "{" P ", " L ", \"estimated_duration\": \"1s\"}",
		  "field `estimated_duration`: expected milliseconds or {\"secs\", \"nanos\"}, "
		  "got a string" },
		{ "{" P ", " L ", \"enable_writable_file_system\": 1}",
		  "field `enable_writable_file_system`: expected true or false, got a number" },
		{ "{" P ", " L ", \"arguments\": \"-l\"}",
		  "field `arguments`: expected a list of strings, got a string" },
		{ "{" P ", " L ", \"environment\": {\"A\": 1}}",
		  "field `environment.A`: expected a string, got a number" },
		{ "{" P ", " L ", \"environment\": {\"A=B\": \"x\"}}",
		  "field `environment.A=B`: variable names must be non-empty and cannot hold `=`" },
		{ "{" P ", " L ", \"environment\": [{\"vars\": {}}]}",
		  "missing field `environment[0].extend`: say whether these variables extend "
		  "(true) or replace (false) the ones before" },
		{ "{" P ", " L ", \"environment\": [{\"extend\": true}]}",
		  "missing field `environment[0].vars`: give the variables as an object of "
		  "NAME: value" },
		{ "{" P ", " L ", \"environment\": [{\"vars\": {\"X\": null}, \"extend\": true}]}",
		  "field `environment[0].vars.X`: expected a string, got null" },
		{ "{" P ", " L ", \"environment\": [{\"vars\": {}, \"extend\": true, \"extnd\": 1}]}",
		  "unknown field `environment[0].extnd` (did you mean `extend`?)" },
		{ "{" P ", " L ", \"environment\": \"A=b\"}",
		  "field `environment`: expected an object of NAME: value strings, or a list of "
		  "{\"vars\", \"extend\"} objects, got a string" },
		{ "{\"program\": \"a\\u0000b\", " L "}", "field `program`: contains a NUL character" },
	};
#undef P
#undef L
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		read_fails(cases[i].json, cases[i].msg);
	struct job_spec s;
	struct err *e = NULL;
	assert_int_equal(job_spec_from_json(NULL, &s, &e), -1);
	assert_string_equal(e->msg, "a job spec must be a JSON object, got nothing");
	err_free(&e);
}

/* Reading, writing and reading again gives the same canonical text. */
static void roundtrip(const char *text, const char *want)
{
	struct job_spec a, b;
	read_ok(text, &a);
	json_t *ja = job_spec_to_json(&a);
	char *sa = dump(ja);
	if (want && strcmp(sa, want) != 0)
		fail_msg("canonical form\n  got:  %s\n  want: %s", sa, want);
	read_ok(sa, &b);
	json_t *jb = job_spec_to_json(&b);
	char *sb = dump(jb);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
	job_spec_release(&a);
	job_spec_release(&b);
}

static void test_roundtrip(void **state)
{
	(void)state;
	roundtrip("{\"layers\": [], \"program\": \"/bin/true\"}",
		  "{\"program\":\"/bin/true\",\"layers\":[]}");
	/* Field order in the input does not matter; variables come out sorted. */
	roundtrip("{\"priority\": 2, \"timeout\": 4, \"program\": \"x\", \"image\": \"docker://u\","
		  " \"environment\": [{\"vars\": {\"Z\": \"1\", \"A\": \"$prev{A:-}\"}, "
		  "\"extend\": true}], \"added_layers\": [{\"tar\": \"t.tar\"}]}",
		  "{\"image\":{\"name\":\"docker://u\",\"use\":[\"layers\",\"environment\"]},"
		  "\"program\":\"x\",\"environment\":[{\"vars\":{\"A\":\"$prev{A:-}\",\"Z\":\"1\"},"
		  "\"extend\":true}],\"added_layers\":[{\"tar\":\"t.tar\"}],\"timeout\":4,"
		  "\"priority\":2}");
	roundtrip("{\"program\": \"p\", \"arguments\": [\"a\", \"\"], \"layers\": ["
		  " {\"glob\": \"**.py\", \"prepend_prefix\": \"/a\", \"canonicalize\": true,"
		  "  \"follow_symlinks\": true, \"strip_prefix\": \"s\"},"
		  " {\"symlinks\": [{\"link\": \"/l\", \"target\": \"/t\"}]},"
		  " {\"stubs\": [\"/{a,b}\"]}, {\"shared-library-dependencies\": [\"/bin/sh\"]}],"
		  " \"mounts\": [{\"type\": \"devices\", \"devices\": [\"zero\", \"full\"]},"
		  "  {\"type\": \"bind\", \"mount_point\": \"/m\", \"local_path\": \"l\"},"
		  "  {\"type\": \"sys\", \"mount_point\": \"/sys\"}],"
		  " \"network\": \"local\", \"enable_writable_file_system\": true,"
		  " \"working_directory\": \"/w\", \"user\": 1, \"group\": 2,"
		  " \"estimated_duration\": {\"secs\": 1, \"nanos\": 2000000}}",
		  "{\"program\":\"p\",\"arguments\":[\"a\",\"\"],\"layers\":[{\"glob\":\"**.py\","
		  "\"follow_symlinks\":true,\"canonicalize\":true,\"strip_prefix\":\"s\","
		  "\"prepend_prefix\":\"/a\"},{\"symlinks\":[{\"link\":\"/l\",\"target\":\"/t\"}]},"
		  "{\"stubs\":[\"/{a,b}\"]},{\"shared-library-dependencies\":[\"/bin/sh\"]}],"
		  "\"mounts\":[{\"type\":\"devices\",\"devices\":[\"full\",\"zero\"]},"
		  "{\"type\":\"bind\",\"mount_point\":\"/m\",\"local_path\":\"l\",\"read_only\":false},"
		  "{\"type\":\"sys\",\"mount_point\":\"/sys\"}],\"network\":\"local\","
		  "\"enable_writable_file_system\":true,\"working_directory\":\"/w\",\"user\":1,"
		  "\"group\":2,\"estimated_duration\":1002}");
	roundtrip("{\"program\": \"p\", \"image\": {\"name\": \"i\", \"use\": "
		  "[\"working_directory\"]}, \"layers\": [{\"paths\": []}],"
		  " \"environment\": {\"B\": \"b\", \"A\": \"a\"}}",
		  "{\"image\":{\"name\":\"i\",\"use\":[\"working_directory\"]},\"program\":\"p\","
		  "\"environment\":[{\"vars\":{\"A\":\"a\",\"B\":\"b\"},\"extend\":false}],"
		  "\"layers\":[{\"paths\":[]}]}");
}

/* The fork_server extension: read, written back, released, errors. */
static void test_fork_server(void **state)
{
	(void)state;
	struct job_spec spec;
	read_ok("{\"program\": \"p\", \"layers\": [], \"fork_server\": {\"program\": "
		"\"python3\", \"arguments\": [\"-m\", \"zygote\", \"\"]}}", &spec);
	assert_string_equal(spec.fork_server.program, "python3");
	assert_int_equal(spec.fork_server.n_arguments, 3);
	assert_string_equal(spec.fork_server.arguments[1], "zygote");
	assert_string_equal(spec.fork_server.arguments[2], "");
	assert_null(spec.fork_server.arguments[3]);
	job_spec_release(&spec);
	assert_null(spec.fork_server.program);

	read_ok("{\"program\": \"p\", \"layers\": [], \"fork_server\": null}", &spec);
	assert_null(spec.fork_server.program);
	job_spec_release(&spec);

	read_ok("{\"program\": \"p\", \"layers\": [], \"fork_server\": {\"program\": "
		"\"z\"}}", &spec);
	assert_string_equal(spec.fork_server.program, "z");
	assert_int_equal(spec.fork_server.n_arguments, 0);
	job_spec_release(&spec);

	roundtrip("{\"fork_server\": {\"arguments\": [\"a\"], \"program\": \"z\"}, "
		  "\"priority\": 1, \"program\": \"p\", \"layers\": []}",
		  "{\"program\":\"p\",\"layers\":[],\"priority\":1,"
		  "\"fork_server\":{\"program\":\"z\",\"arguments\":[\"a\"]}}");
	roundtrip("{\"fork_server\": {\"program\": \"z\", \"arguments\": []}, "
		  "\"program\": \"p\", \"layers\": []}",
		  "{\"program\":\"p\",\"layers\":[],\"fork_server\":{\"program\":\"z\"}}");

	read_fails("{\"program\": \"p\", \"layers\": [], \"fork_server\": \"z\"}",
		   "field `fork_server`: expected an object {\"program\": ..., \"arguments\": "
		   "[...]}, got a string");
	read_fails("{\"program\": \"p\", \"layers\": [], \"fork_server\": {}}",
		   "missing field `fork_server.program`: name the fork server's program (the "
		   "zygote), e.g. \"python3\"");
	read_fails("{\"program\": \"p\", \"layers\": [], \"fork_server\": "
		   "{\"program\": \"\"}}",
		   "field `fork_server.program`: must not be empty");
	read_fails("{\"program\": \"p\", \"layers\": [], \"fork_server\": "
		   "{\"program\": \"z\", \"arguments\": [\"a\", 2]}}",
		   "field `fork_server.arguments[1]`: expected a string, got a number");
	read_fails("{\"program\": \"p\", \"layers\": [], \"fork_server\": "
		   "{\"program\": \"z\", \"argv\": []}}",
		   "unknown field `fork_server.argv`: expected `program` or `arguments`");
	read_fails("{\"program\": \"p\", \"layers\": [], \"forkserver\": {}}",
		   "unknown field `forkserver` (did you mean `fork_server`?)");
}

static void test_layer_helpers(void **state)
{
	(void)state;
	json_t *j = parse_json("{\"paths\": [\"a\"], \"strip_prefix\": \"x/\"}");
	struct layer_spec l;
	struct err *e = NULL;
	assert_int_equal(layer_spec_from_json(j, "layers[3]", &l, &e), 0);
	assert_int_equal(l.kind, LAYER_PATHS);
	json_t *back = layer_spec_to_json(&l);
	char *s = dump(back);
	assert_string_equal(s, "{\"paths\":[\"a\"],\"strip_prefix\":\"x/\"}");
	free(s);
	json_decref(back);
	layer_spec_release(&l);
	json_decref(j);

	j = parse_json("{\"stubs\": [1]}");
	assert_int_equal(layer_spec_from_json(j, "layers[3]", &l, &e), -1);
	assert_string_equal(e->msg, "field `layers[3].stubs[0]`: expected a string, got a number");
	assert_null(l.paths);
	err_free(&e);
	json_decref(j);
}

static void test_names(void **state)
{
	(void)state;
	static const char *const devs[] = { "full", "fuse", "null", "random",
					    "shm", "tty", "urandom", "zero" };
	for (unsigned i = 0; i < DEVICE_COUNT; i++) {
		assert_int_equal(job_device_from_name(devs[i]), 1u << i);
		assert_string_equal(job_device_name(1u << i), devs[i]);
	}
	assert_int_equal(job_device_from_name("sda"), 0);
	assert_int_equal(job_device_from_name(NULL), 0);
	assert_null(job_device_name(DEVICE_NULL | DEVICE_ZERO));
	assert_null(job_device_name(0));
	assert_string_equal(mount_kind_name(MOUNT_BIND), "bind");
	assert_string_equal(mount_kind_name(MOUNT_DEVPTS), "devpts");
	assert_string_equal(mount_kind_name(MOUNT_TMP), "tmp");
	assert_string_equal(network_mode_name(NETWORK_LOOPBACK), "loopback");
	assert_string_equal(network_mode_name(NETWORK_LOCAL), "local");
}

static void test_local_only(void **state)
{
	(void)state;
	struct job_spec s;
	read_ok("{\"program\": \"p\", \"layers\": [], \"mounts\": [{\"type\": \"tmp\", "
		"\"mount_point\": \"/tmp\"}], \"network\": \"loopback\"}", &s);
	assert_false(job_spec_is_local_only(&s));
	s.allocate_tty = true;
	assert_true(job_spec_is_local_only(&s));
	job_spec_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_image_forms),
		cmocka_unit_test(test_environment_modes),
		cmocka_unit_test(test_layer_kinds),
		cmocka_unit_test(test_nulls_and_durations),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_fork_server),
		cmocka_unit_test(test_layer_helpers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_local_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
