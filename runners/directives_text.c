/*
 * directives_text: the built-in spec files: the book's default directives
 * (cargo-maelstrom/spec/default.md, pytest/spec/default.md; the same for
 * both runners) and the starter file `--init` writes, which holds the
 * defaults followed by commented-out examples. In the examples section,
 * explanations start with "##" and example lines with "# ", so removing
 * the "# " prefixes gives a valid file (the unit tests check that).
 */
#include "runners/directives.h"

/* The default directive, shared by every text below. */
#define DEFAULT_DIRECTIVE                                                              \
	"[[directives]]\n"                                                             \
	"layers = [\n"                                                                 \
	"    { stubs = [ \"/{proc,sys,tmp}/\", \"/dev/{full,null,random,urandom,zero}\" ] },\n" \
	"]\n"                                                                          \
	"mounts = [\n"                                                                 \
	"    { type = \"tmp\", mount_point = \"/tmp\" },\n"                            \
	"    { type = \"proc\", mount_point = \"/proc\" },\n"                          \
	"    { type = \"sys\", mount_point = \"/sys\" },\n"                            \
	"    { type = \"devices\", devices = [\"full\", \"null\", \"random\", \"urandom\", \"zero\"] },\n" \
	"]\n"

static const char default_text[] =
	"# No `filter`: this directive applies to every test. The stubs layer makes\n"
	"# the empty directories and files that the mounts below need.\n"
	DEFAULT_DIRECTIVE;

/* Explains the defaults; FILE and PROGRAM name the runner. */
#define INIT_HEAD(FILE, PROGRAM)                                                       \
	"# " FILE ": the containers " PROGRAM " runs tests in.\n"                      \
	"#\n"                                                                          \
	"# Each [[directives]] entry applies, in order, to the tests its `filter`\n"   \
	"# matches (an entry without `filter` matches every test). `layers`,\n"        \
	"# `environment` and `mounts` replace what earlier entries set, `added_layers`,\n" \
	"# `added_environment` and `added_mounts` add to it, and the other fields\n"  \
	"# override. [containers.NAME] tables define containers that entries (and\n"   \
	"# other containers) inherit from with `parent = \"NAME\"`. The Maelstrom\n"   \
	"# book's \"Job Specification\" chapter for " PROGRAM " describes every field.\n" \
	"\n"                                                                           \
	"# The defaults " PROGRAM " uses when there is no " FILE ":\n"                 \
	"# /tmp, /proc, /sys and a few devices, which tests commonly need, with a\n"   \
	"# layer of the empty directories and files they are mounted on.\n"           \
	DEFAULT_DIRECTIVE                                                              \
	"\n"                                                                           \
	"# ---- Examples: remove the \"# \" in front of the lines to use one. ----\n"

/* Examples both runners share; FILTER is a filter of the runner's flavor. */
#define INIT_COMMON_EXAMPLES(FILTER_NET, FILTER_FS, FILTER_FLAKY, FILTER_TTY, ENV_EXAMPLE) \
	"\n"                                                                           \
	"## Give some tests a loopback network interface and a time limit (seconds).\n" \
	"# [[directives]]\n"                                                           \
	"# filter = \"" FILTER_NET "\"\n"                                              \
	"# network = \"loopback\"\n"                                                   \
	"# timeout = 120\n"                                                            \
	"\n"                                                                           \
	"## Pass variables from the environment the tests are started from.\n"         \
	"# [[directives]]\n"                                                           \
	"# added_environment = { " ENV_EXAMPLE " }\n"                                  \
	"\n"                                                                           \
	"## Add project files to some tests' containers, run them as an unprivileged\n" \
	"## user with a writable root file system, in another directory.\n"           \
	"# [[directives]]\n"                                                           \
	"# filter = \"" FILTER_FS "\"\n"                                               \
	"# added_layers = [\n"                                                         \
	"#     { glob = \"tests/data/**\" },\n"                                        \
	"# ]\n"                                                                        \
	"# user = 1000\n"                                                              \
	"# group = 1000\n"                                                             \
	"# enable_writable_file_system = true\n"                                       \
	"# working_directory = \"/tmp\"\n"                                             \
	"\n"                                                                           \
	"## Do not run a test: it is reported as ignored.\n"                           \
	"# [[directives]]\n"                                                           \
	"# filter = \"" FILTER_FLAKY "\"\n"                                            \
	"# ignore = true\n"                                                            \
	"\n"                                                                           \
	"## Named containers, and tests that run in one with a pseudo-terminal.\n"     \
	"# [containers.base]\n"                                                        \
	"# layers = [\n"                                                               \
	"#     { stubs = [ \"/{proc,tmp}/\", \"/dev/{null,zero}\" ] },\n"              \
	"# ]\n"                                                                        \
	"# mounts = [\n"                                                               \
	"#     { type = \"tmp\", mount_point = \"/tmp\" },\n"                          \
	"#     { type = \"proc\", mount_point = \"/proc\" },\n"                        \
	"#     { type = \"devices\", devices = [\"null\", \"zero\"] },\n"              \
	"# ]\n"                                                                        \
	"#\n"                                                                          \
	"# [containers.base-with-pts]\n"                                               \
	"# parent = \"base\"\n"                                                        \
	"# added_layers = [\n"                                                         \
	"#     { stubs = [ \"/dev/pts/\" ] },\n"                                       \
	"#     { symlinks = [ { link = \"/dev/ptmx\", target = \"/dev/pts/ptmx\" } ] },\n" \
	"# ]\n"                                                                        \
	"# added_mounts = [\n"                                                         \
	"#     { type = \"devpts\", mount_point = \"/dev/pts\" },\n"                   \
	"# ]\n"                                                                        \
	"#\n"                                                                          \
	"# [[directives]]\n"                                                           \
	"# filter = \"" FILTER_TTY "\"\n"                                              \
	"# parent = \"base-with-pts\"\n"

static const char init_cargo[] =
	INIT_HEAD("cargo-maelstrom.toml", "cargo-maelstrom")
	INIT_COMMON_EXAMPLES("package.equals(my-server)", "test.equals(file_tests)",
			     "name.equals(tests::flaky)", "name.starts_with(tty::)",
			     "RUST_BACKTRACE = \"$env{RUST_BACKTRACE:-0}\"")
	"\n"
	"## Leave out the layer of shared libraries the test binary needs (by\n"
	"## default it is added unless the container comes from an image).\n"
	"# [[directives]]\n"
	"# filter = \"package.equals(static-binaries)\"\n"
	"# include_shared_libraries = false\n";

static const char init_pytest[] =
	INIT_HEAD("maelstrom-pytest.toml", "maelstrom-pytest")
	INIT_COMMON_EXAMPLES("markers.contains(network)", "file.starts_with(tests/fs/)",
			     "name.equals(test_flaky)", "file.starts_with(tests/tty/)",
			     "PYTHONDEVMODE = \"$env{PYTHONDEVMODE:-0}\"")
	"\n"
	"## Take the Python interpreter from a container image (it must hold\n"
	"## pytest; the host's Python is then left out).\n"
	"# [[directives]]\n"
	"# image = { name = \"docker://python:3.12-slim\", use = [\"layers\", \"environment\"] }\n"
	"# added_layers = [ { glob = \"**/*.py\" } ]\n"
	"\n"
	"## Start some tests cold, each in a fresh interpreter, instead of forking\n"
	"## them from the run's warm pytest process (an extension of Maelstrom).\n"
	"# [[directives]]\n"
	"# filter = \"file.starts_with(tests/import_order/)\"\n"
	"# fork_server = false\n";

const char *directives_default_text(const struct filter_flavor *fl)
{
	(void)fl; /* the book gives both runners the same default */
	return default_text;
}

const char *directives_init_text(const struct filter_flavor *fl)
{
	return fl == &filter_flavor_pytest ? init_pytest : init_cargo;
}
