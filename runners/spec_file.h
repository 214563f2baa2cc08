/*
 * spec_file: the project's spec file (cargo-maelstrom.toml,
 * maelstrom-pytest.toml), as the test runners load it and as --init
 * writes it.
 *
 * The file lives directly in the project directory (the workspace root
 * for cargo-maelstrom). When it is missing, the book's default directives
 * for the runner's filter flavor stand in for it; an existing file that
 * does not parse is an error, never silently replaced by the default.
 *
 * Nothing here prints: callers say what happened.
 */
#ifndef RUNNERS_SPEC_FILE_H
#define RUNNERS_SPEC_FILE_H

#include "core/err.h"
#include "runners/directives.h"
#include "runners/filter.h"

/* Loads <dir>/<name> with flavor fl into *out, or the default directives
 * of fl when that file does not exist. Returns 0, or -1 with *out NULL
 * and *err naming file:line:col (see directives_load). */
int spec_file_load(const char *dir, const char *name, const struct filter_flavor *fl,
		   struct directives **out, struct err **err);

/* --init: creates <dir>/<name> holding the starter text for fl
 * (directives_init_text); never overwrites an existing file (the message
 * then names program, as "<program> --init does not overwrite it"). A
 * file left half written is removed. Returns 0 and stores the heap path
 * written in *path (the caller frees it), or -1 with *path NULL and *err
 * set. */
int spec_file_init(const char *dir, const char *name, const char *program,
		   const struct filter_flavor *fl, char **path, struct err **err);

#endif
