/* Unit tests for artifacts/image_manifest: manifests, indexes and configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "artifacts/image_manifest.h"
#include "core/xalloc.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static struct manifest parse_ok(const char *text, const char *media_type, const char *ref)
{
	struct manifest m;
	struct err *err = NULL;
	if (manifest_parse(text, strlen(text), media_type, ref, "manifest test", &m, &err) < 0)
		fail_msg("%s", err_msg(err));
	return m;
}

/* Expects manifest_parse to fail with a message holding every want (NULL
 * ends the list); and that the message names the document. */
static void parse_fails(const char *text, const char *media_type, const char *ref, ...)
{
	struct manifest m;
	struct err *err = NULL;
	assert_int_equal(manifest_parse(text, strlen(text), media_type, ref, "manifest test", &m,
					&err),
			 -1);
	assert_non_null(err);
	assert_non_null(strstr(err_msg(err), "manifest test: "));
	va_list ap;
	va_start(ap, ref);
	for (const char *want; (want = va_arg(ap, const char *));)
		if (!strstr(err_msg(err), want))
			fail_msg("message `%s` does not contain `%s`", err_msg(err), want);
	va_end(ap);
	err_free(&err);
	/* A failed parse leaves nothing to free. */
	assert_null(m.layers);
	assert_null(m.config_digest);
	assert_null(m.chosen_digest);
}

static const char oci_manifest[] =
	"{\"schemaVersion\": 2,"
	" \"mediaType\": \"application/vnd.oci.image.manifest.v1+json\","
	" \"config\": {\"mediaType\": \"application/vnd.oci.image.config.v1+json\","
	"   \"digest\": \"" DC "\", \"size\": 10},"
	" \"layers\": ["
	"   {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\", \"digest\": \"" D1 "\","
	"    \"size\": 100},"
	"   {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+zstd\", \"digest\": \"" D2 "\"},"
	"   {\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", \"digest\": \"" D3 "\","
	"    \"size\": 0}]}";

static void test_oci_manifest(void **state)
{
	(void)state;
	struct manifest m = parse_ok(oci_manifest, NULL, NULL);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_string_equal(m.config_digest, DC);
	assert_int_equal(m.n_layers, 3);
	assert_string_equal(m.layers[0].digest, D1);
	assert_string_equal(m.layers[1].digest, D2);
	assert_string_equal(m.layers[2].digest, D3);
	assert_string_equal(m.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_int_equal(m.layers[0].size, 100);
	assert_int_equal(m.layers[1].size, -1);
	assert_int_equal(m.layers[2].size, 0);
	assert_null(m.chosen_digest);
	manifest_release(&m);

	/* The registry's Content-Type, with a parameter, agrees with the document. */
	m = parse_ok(oci_manifest, "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
		     NULL);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	manifest_release(&m);
	/* A kind that contradicts the document is an error. */
	parse_fails(oci_manifest, "application/vnd.oci.image.index.v1+json", NULL,
		    "was sent as `application/vnd.oci.image.index.v1+json`", NULL);
}

static void test_docker_manifest(void **state)
{
	(void)state;
	const char *text =
		"{\"schemaVersion\": 2,"
		" \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\","
		" \"config\": {\"mediaType\": \"application/vnd.docker.container.image.v1+json\","
		"   \"size\": 1469, \"digest\": \"" DC "\"},"
		" \"layers\": [{\"mediaType\": "
		"   \"application/vnd.docker.image.rootfs.diff.tar.gzip\", \"size\": 3, "
		"   \"digest\": \"" D1 "\"}]}";
	struct manifest m = parse_ok(text, "application/vnd.docker.distribution.manifest.v2+json",
				     NULL);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_string_equal(m.config_digest, DC);
	assert_int_equal(m.n_layers, 1);
	assert_string_equal(m.layers[0].digest, D1);
	assert_int_equal(m.layers[0].size, 3);
	manifest_release(&m);

	/* No media type anywhere (an OCI layout's blob): the shape decides. */
	m = parse_ok("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"},"
		     " \"layers\": []}",
		     NULL, NULL);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_int_equal(m.n_layers, 0);
	manifest_release(&m);
}

/* An index with an entry for another platform first, this machine's
 * platform second. */
static char *platform_index(const char *media_type)
{
	const char *arch = image_platform_arch();
	const char *other = strcmp(arch, "s390x") == 0 ? "riscv64" : "s390x";
	return xasprintf(
		"{\"schemaVersion\": 2, \"mediaType\": \"%s\", \"manifests\": ["
		" {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": "
		"  \"" D1 "\", \"size\": 5, \"platform\": {\"architecture\": \"%s\", \"os\": "
		"  \"linux\"}},"
		" {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": "
		"  \"" D3 "\", \"size\": 5, \"platform\": {\"architecture\": \"%s\", \"os\": "
		"  \"windows\"}},"
		" {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": "
		"  \"" D2 "\", \"size\": 5, \"platform\": {\"architecture\": \"%s\", \"os\": "
		"  \"linux\", \"variant\": \"v8\"}},"
		" {\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": "
		"  \"" DC "\", \"size\": 5, \"platform\": {\"architecture\": \"unknown\", \"os\": "
		"  \"unknown\"}}]}",
		media_type, other, arch, arch);
}

static void test_index_by_platform(void **state)
{
	(void)state;
	const char *types[] = { "application/vnd.oci.image.index.v1+json",
				"application/vnd.docker.distribution.manifest.list.v2+json" };
	for (size_t i = 0; i < 2; i++) {
		char *text = platform_index(types[i]);
		struct manifest m = parse_ok(text, types[i], NULL);
		assert_int_equal(m.kind, MANIFEST_INDEX);
		/* linux/<this arch>, whatever its variant; not windows, not the
		 * other architecture, not the attestation (unknown/unknown). */
		assert_string_equal(m.chosen_digest, D2);
		assert_int_equal(m.n_layers, 0);
		manifest_release(&m);
		free(text);
	}

	/* No entry for this platform: the message lists what there is. */
	parse_fails("{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"" D1 "\","
		    " \"platform\": {\"architecture\": \"nosucharch\", \"os\": \"linux\"}}]}",
		    NULL, NULL, "no image for this machine's platform linux/",
		    "(the index has: linux/nosucharch)", NULL);
	/* One entry without a platform is taken. */
	struct manifest m = parse_ok("{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"" D1
				     "\"}]}",
				     NULL, NULL);
	assert_string_equal(m.chosen_digest, D1);
	manifest_release(&m);
}

static const char named_index[] =
	"{\"schemaVersion\": 2, \"manifests\": ["
	" {\"digest\": \"" D1 "\", \"annotations\": {\"org.opencontainers.image.ref.name\": "
	"  \"latest\"}},"
	" {\"digest\": \"" D2 "\", \"annotations\": {\"org.opencontainers.image.ref.name\": "
	"  \"v1\", \"other\": \"x\"}},"
	" {\"digest\": \"" D3 "\", \"annotations\": {\"org.opencontainers.image.ref.name\": "
	"  \"latest\"}, \"platform\": {\"architecture\": \"nosucharch\", \"os\": \"linux\"}}]}";

static void test_index_by_ref(void **state)
{
	(void)state;
	struct manifest m = parse_ok(named_index, NULL, "v1");
	assert_int_equal(m.kind, MANIFEST_INDEX);
	assert_string_equal(m.chosen_digest, D2);
	manifest_release(&m);
	/* Of the two named `latest`, the one for another platform is skipped. */
	m = parse_ok(named_index, NULL, "latest");
	assert_string_equal(m.chosen_digest, D1);
	manifest_release(&m);

	/* A missing name: the message lists the names, each once. */
	parse_fails(named_index, NULL, "v2", "no image is named `v2` (the index has: latest, v1)",
		    NULL);
	/* Several images and no name: say which names exist. */
	parse_fails(named_index, NULL, NULL, "holds 2 images; name the one to use",
		    "(the index has: latest, v1)", NULL);
}

static void test_manifest_errors(void **state)
{
	(void)state;
	parse_fails("{\"schemaVersion\": 2,", NULL, NULL, "not valid JSON (line 1", NULL);
	parse_fails("[1, 2]", NULL, NULL, "expected a JSON object", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}}", NULL, NULL,
		    "field `layers` is missing", NULL);
	parse_fails("{\"schemaVersion\": 2, \"layers\": []}", NULL, NULL,
		    "field `config` is missing", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}, \"layers\": "
		    "[{\"digest\": \"" D1 "\"}, {\"digest\": \"" D2 "\"}, {\"size\": 3}]}",
		    NULL, NULL, "field `layers[2].digest` is missing", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}, \"layers\": "
		    "[{\"digest\": 5}]}",
		    NULL, NULL, "field `layers[0].digest` is not a string", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}, \"layers\": "
		    "{}}",
		    NULL, NULL, "field `layers` is not an array", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:abc\"}, "
		    "\"layers\": []}",
		    NULL, NULL, "field `config.digest` is `sha256:abc`, which is not a digest", NULL);
	/* Uppercase hex is not a canonical digest. */
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"sha256:"
		    "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\"}, "
		    "\"layers\": []}",
		    NULL, NULL, "which is not a digest", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}, \"layers\": "
		    "[{\"digest\": \"sha512:abcdef\"}]}",
		    NULL, NULL, "field `layers[0].digest` is `sha512:abcdef`",
		    "only sha256 digests are supported", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}, \"layers\": "
		    "[{\"digest\": \"" D1 "\", \"size\": -4}]}",
		    NULL, NULL, "field `layers[0].size` is not a size", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\"}, \"layers\": "
		    "[{\"digest\": \"" D1 "\", \"mediaType\": "
		    "\"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\"}]}",
		    NULL, NULL, "field `layers[0].mediaType`", "not a layer type", NULL);
	parse_fails("{\"schemaVersion\": 2, \"config\": {\"digest\": \"" DC "\", \"mediaType\": "
		    "\"application/vnd.cncf.helm.config.v1+json\"}, \"layers\": []}",
		    NULL, NULL, "field `config.mediaType`", "not a container image", NULL);
	parse_fails("{\"schemaVersion\": 1, \"name\": \"x\", \"fsLayers\": []}", NULL, NULL,
		    "Docker schema 1", NULL);
	parse_fails("{\"schemaVersion\": 2, \"mediaType\": \"text/plain\"}", NULL, NULL,
		    "field `mediaType` is `text/plain`", NULL);
	parse_fails("{\"schemaVersion\": 2, \"something\": 1}", NULL, NULL,
		    "neither an image manifest", NULL);
	parse_fails("{\"schemaVersion\": 2, \"manifests\": []}", NULL, NULL,
		    "field `manifests` is empty", NULL);
	parse_fails("{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"" D1 "\"}, "
		    "{\"digest\": \"" D2 "\", \"platform\": {\"os\": \"linux\"}}]}",
		    NULL, NULL, "field `manifests[1].platform.architecture` is missing", NULL);
	parse_fails("{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"" D1 "\", "
		    "\"annotations\": {\"org.opencontainers.image.ref.name\": 3}}]}",
		    NULL, NULL, "manifests[0].annotations.\"org.opencontainers.image.ref.name\"",
		    "is not a string", NULL);
	parse_fails("{\"schemaVersion\": 2, \"manifests\": [{\"digest\": \"" D1 "\"}]}", NULL,
		    "nope", "no image is named `nope` (the index names none of its 1 entries", NULL);
}

static void test_digest_valid(void **state)
{
	(void)state;
	assert_true(image_digest_valid(D1));
	assert_false(image_digest_valid(NULL));
	assert_false(image_digest_valid(""));
	assert_false(image_digest_valid("sha256:"));
	assert_false(image_digest_valid(D1 "0"));
	assert_false(image_digest_valid("sha512:1111111111111111111111111111111111111111111111111"
					"111111111111111"));
	assert_false(image_digest_valid("sha256:g111111111111111111111111111111111111111111111111"
					"111111111111111"));
	const char *arch = image_platform_arch();
	assert_non_null(arch);
	assert_true(*arch);
#if defined(__x86_64__)
	assert_string_equal(arch, "amd64");
#elif defined(__aarch64__)
	assert_string_equal(arch, "arm64");
#endif
}

static void test_config(void **state)
{
	(void)state;
	const char *text = "{\"architecture\": \"amd64\", \"os\": \"linux\", \"config\": {"
			   " \"Env\": [\"PATH=/usr/local/bin:/usr/bin\", \"LANG=C.UTF-8\", "
			   "  \"EMPTY=\"],"
			   " \"WorkingDir\": \"/app\", \"Cmd\": [\"sh\"]}, \"rootfs\": {}}";
	char **env;
	char *wd;
	struct err *err = NULL;
	if (image_config_parse(text, strlen(text), "config x", &env, &wd, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_string_equal(env[0], "PATH=/usr/local/bin:/usr/bin");
	assert_string_equal(env[1], "LANG=C.UTF-8");
	assert_string_equal(env[2], "EMPTY=");
	assert_null(env[3]);
	assert_string_equal(wd, "/app");
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	free(wd);

	/* No config section, or an empty WorkingDir: empty env, no directory. */
	const char *bare[] = { "{\"os\": \"linux\"}", "{\"config\": null}",
			       "{\"config\": {\"WorkingDir\": \"\", \"Env\": null}}" };
	for (size_t i = 0; i < 3; i++) {
		if (image_config_parse(bare[i], strlen(bare[i]), "config x", &env, &wd, &err) < 0)
			fail_msg("%s: %s", bare[i], err_msg(err));
		assert_non_null(env);
		assert_null(env[0]);
		assert_null(wd);
		free(env);
	}

	const struct {
		const char *text, *want;
	} bad[] = {
		{ "{\"config\": {\"Env\": [\"A=1\", 7]}}",
		  "config x: field `config.Env[1]` is not a string" },
		{ "{\"config\": {\"Env\": [\"NOEQUALS\"]}}", "field `config.Env[0]` is `NOEQUALS`" },
		{ "{\"config\": {\"Env\": \"A=1\"}}", "field `config.Env` is not an array" },
		{ "{\"config\": {\"WorkingDir\": 3}}", "field `config.WorkingDir` is not a string" },
		{ "{\"config\": []}", "field `config` is not an object" },
		{ "nope", "config x: not valid JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(image_config_parse(bad[i].text, strlen(bad[i].text), "config x",
						    &env, &wd, &err),
				 -1);
		if (!strstr(err_msg(err), bad[i].want))
			fail_msg("message `%s` does not contain `%s`", err_msg(err), bad[i].want);
		assert_null(env);
		assert_null(wd);
		err_free(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oci_manifest),
		cmocka_unit_test(test_docker_manifest),
		cmocka_unit_test(test_index_by_platform),
		cmocka_unit_test(test_index_by_ref),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_digest_valid),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
