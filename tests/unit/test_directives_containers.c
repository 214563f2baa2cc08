/* Unit tests for runners/directives: images and named containers in the
 * test runners' spec files (the rest is in test_directives.c and
 * test_directives_errors.c; the shared fixture is in directives_fixture.h). */
#include "directives_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_images),
		cmocka_unit_test(test_containers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
