/*
 * config: the table-driven configuration reader every program uses.
 *
 * Vocabulary and precedence follow the Maelstrom book. Each program lists
 * its values in a table of struct config_option; a value named
 * `cache-size` in program `maelstrom-run` (config dir "run", env prefix
 * "MAELSTROM_RUN") can be given, highest priority first, as
 *
 *     --cache-size=1GB  or  --cache-size 1GB      command line
 *     MAELSTROM_RUN_CACHE_SIZE=1GB                environment
 *     cache-size = "1 GB"                          config file
 *
 * and otherwise takes the table's default. A program may list several
 * env prefixes ({"CARGO_MAELSTROM", "MAELSTROM", NULL}): the first variable
 * that is set wins.
 *
 * Config files. With no -c/--config-file, config_load reads every file
 * that exists among (most preferred first)
 *     $XDG_CONFIG_HOME/maelstrom/<dir>/config.toml   (default ~/.config)
 *     <each dir of $XDG_CONFIG_DIRS>/maelstrom/<dir>/config.toml
 *                                                    (default /etc/xdg)
 * and a more preferred file overrides a less preferred one. `-c FILE` reads
 * only FILE (which must exist); `-c -` reads none. Files are flat TOML:
 * `name = value` lines with strings in double quotes (with escapes) or
 * single quotes, integers, true/false and one-line arrays of strings, and
 * `#` comments. Section headers, unknown names, values of the wrong type
 * and names given twice are errors naming the file and line.
 *
 * Command line. `--name=value`, `--name value`, `-x value`, `-xvalue`.
 * Booleans are flags (`--enable-frobs`, or `--enable-frobs=false` to
 * override a file); only flags may be bundled (`-1q`). Lists take repeated
 * options (`--layer a --layer b`), or whitespace-separated words in the
 * environment. Other arguments are positional; everything after `--` is
 * kept apart (config_rest). From the environment, booleans are `true` or
 * `false`.
 *
 * Built into every program:
 *     -h, --help           usage, every option with its type, default and
 *                          env variable, and the config file paths
 *     -V, --version        "<name> <version>"
 *     -c, --config-file    see above
 *     -P, --print-config   every value and where it came from, as TOML
 *     -L, --log-level      error|warning|info|debug (also a config value);
 *                          applied with log_set_level() by config_load
 * Help, version and print-config make config_load return CONFIG_EXIT with
 * the text in config_output(); main prints it to stdout and exits 0.
 *
 * Messages name where a bad value came from, as the user wrote it:
 *     --slots: `abc` is not a number
 *     MAELSTROM_RUN_SLOTS: `abc` is not a number
 *     /x/config.toml line 4: slots: `abc` is not a number
 *     unknown option --foo; see --help
 *     unknown configuration value `cach-size` in /x/config.toml line 3;
 *         see `maelstrom-run --help` for valid names
 *
 * Ownership: struct config owns copies of every value, source and
 * argument; the program description and option table are borrowed and must
 * outlive it (static tables). Strings returned by getters live until
 * config_release(). Not thread-safe: it reads the environment and sets
 * inih's global options while parsing.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_NUMBER, /* int64_t */
	CONFIG_BOOL,   /* flag on the command line; true/false elsewhere */
	CONFIG_SIZE,   /* bytes, written as in core/size.h: "1 GB" */
	CONFIG_LIST,   /* strings */
};

/* A command-line option that is not a configuration value: not read from
 * the environment or files, not printed by --print-config
 * (e.g. maelstrom-run's -1/--one and -f/--file). */
#define CONFIG_CLI_ONLY 0x1u

struct config_option {
	const char *name;          /* "cache-size": option, file key, env suffix */
	char short_name;           /* 'c' for -c, or 0 */
	enum config_type type;
	const char *default_value; /* as text ("1 GB", "4", "true", "a b");
				      NULL: unset (booleans: false) */
	const char *value_name;    /* for --help: "SIZE"; NULL: from the type */
	const char *help;          /* one or two sentences */
	unsigned flags;            /* CONFIG_CLI_ONLY */
};

struct config_program {
	const char *name;                 /* "maelstrom-run" */
	const char *version;              /* "0.1.0" */
	const char *config_dir;           /* "run": .../maelstrom/run/config.toml */
	const char *const *env_prefixes;  /* {"MAELSTROM_RUN", NULL}, tried in order */
	const char *description;          /* one paragraph for --help */
	const char *usage;                /* "maelstrom-run [OPTIONS]"; NULL: that form */
	const struct config_option *options;
	size_t n_options;
	int max_positional;               /* -1: any number; 0: none allowed */
	bool takes_rest;                  /* accept arguments after `--` */
};

enum config_origin {
	CONFIG_UNSET,
	CONFIG_FROM_DEFAULT,
	CONFIG_FROM_FILE,
	CONFIG_FROM_ENV,
	CONFIG_FROM_CLI,
};

/* One option's current value. Private to config.c; read it through the
 * getters. */
struct config_value {
	const struct config_option *opt;
	enum config_origin origin;
	char *source;   /* "default", "/x/config.toml line 3", "MAELSTROM_RUN_SLOTS",
			   "--slots" or "-s" */
	char *text;     /* the value as written (strings, numbers, sizes) */
	int64_t number;
	uint64_t size;
	bool flag;
	char **list;    /* NULL-terminated; n_list entries */
	size_t n_list;
	unsigned file_serial; /* which file set it, to catch a name set twice */
	int file_line;
};

struct config {
	const struct config_program *prog;
	struct config_value *values; /* the program's options, then the built-ins */
	size_t n_values;
	char **positional;           /* NULL-terminated copies */
	size_t n_positional;
	char **rest;                 /* after `--`; NULL-terminated copies */
	size_t n_rest;
	char **files;                /* config files read, least preferred first */
	size_t n_files;
	char *output;                /* help/version/print-config text */
};

/* config_load() result when the program should print config_output() and
 * exit 0 (help, version, print-config). */
#define CONFIG_EXIT 1

/* Prepares an empty config. */
void config_init(struct config *c);

/* Frees everything config_load stored. The config can be loaded again. */
void config_release(struct config *c);

/* Reads defaults, config files, the environment and argv (argv[0] is the
 * program path and is skipped), in rising priority, then applies the log
 * level. Returns 0, CONFIG_EXIT (see above), or -1 with *err set. After an
 * error the config is unusable except for config_release. */
int config_load(struct config *c, const struct config_program *prog, int argc, char **argv,
		struct err **err);

/* Help, version or print-config text after CONFIG_EXIT; otherwise NULL. */
const char *config_output(const struct config *c);

/* Getters. name must be in the program's table or be a built-in
 * ("log-level", "config-file", ...); asking for an unknown name or the
 * wrong type is a programming error, logged, and yields the zero value.
 * Unset values give NULL / 0 / false / an empty list. */
const char *config_get_string(const struct config *c, const char *name);
int64_t config_get_number(const struct config *c, const char *name);
bool config_get_bool(const struct config *c, const char *name);
uint64_t config_get_size(const struct config *c, const char *name);
/* The list's strings, NULL-terminated; *n (when not NULL) gets the count. */
char *const *config_get_list(const struct config *c, const char *name, size_t *n);

/* True when the value has one, from any source including its default. */
bool config_is_set(const struct config *c, const char *name);

/* Where the value came from, for messages: "--slots", "MAELSTROM_RUN_SLOTS",
 * "/x/config.toml line 4", "default", or "not set". */
const char *config_source(const struct config *c, const char *name);

/* Positional arguments (NULL-terminated); *n gets the count. */
char *const *config_positional(const struct config *c, size_t *n);

/* Arguments after `--` (NULL-terminated); *n gets the count. */
char *const *config_rest(const struct config *c, size_t *n);

/* The --help text config_load produces (heap string, caller frees). */
char *config_help_text(const struct config *c);

/* The --print-config text: every configuration value with its source as a
 * trailing comment, as flat TOML a config file could hold (caller frees). */
char *config_print_text(const struct config *c);

/* The environment variable for a value: ("MAELSTROM_RUN", "cache-size")
 * gives "MAELSTROM_RUN_CACHE_SIZE" (caller frees). */
char *config_env_name(const char *prefix, const char *name);

/* The placeholder --help shows for an option's value: its value_name, or
 * one derived from its type ("SIZE"). */
const char *config_value_name(const struct config_option *o);

/* ---- flat TOML files (config_file.c; used by config_load) ----------- */

enum config_file_kind {
	CONFIG_FILE_STRING, /* "..." or '...': text is the unescaped string */
	CONFIG_FILE_BARE,   /* 42, true, junk: text is the token as written */
	CONFIG_FILE_ARRAY,  /* ["a", 'b']: items are the unescaped strings */
};

struct config_file_entry {
	const char *path;
	int line;
	const char *key;
	enum config_file_kind kind;
	const char *text;
	char *const *items; /* NULL-terminated */
	size_t n_items;
};

/* Receives one `key = value` line; returns 0, or -1 with *err set to a
 * complete message (which should name e->path and e->line). */
typedef int (*config_file_fn)(void *arg, const struct config_file_entry *e, struct err **err);

/* Reads the flat TOML file at path with inih, calling fn for each line in
 * order, and stops at the first error. Errors: "cannot read config file
 * PATH: <errno text>" (errnum kept so callers can skip ENOENT), and
 * "PATH line N: ..." for section headers, lines that are not
 * `name = value`, and malformed values. */
int config_file_read(const char *path, config_file_fn fn, void *arg, struct err **err);

/* The config file paths for config dir dir, most preferred first, from
 * XDG_CONFIG_HOME/HOME and XDG_CONFIG_DIRS (see above); a NULL-terminated
 * array of strings, freed with config_file_paths_free. *n gets the count. */
char **config_file_paths(const char *dir, size_t *n);
void config_file_paths_free(char **paths);

#endif
