/*
 * dirs: the book's directory settings (dirs.md): a configured path wins;
 * otherwise $XDG_<KIND> (or ~/<fallback> when unset or empty) joined with a
 * program-specific suffix such as "maelstrom/run".
 */
#ifndef CORE_DIRS_H
#define CORE_DIRS_H

#include "core/err.h"

/* Returns a heap path. `configured` may be NULL. */
char *dirs_resolve(const char *configured, const char *xdg_var, const char *home_fallback,
		   const char *suffix);

/* mkdir -p with mode 0700 for created components. */
int dirs_make(const char *path, struct err **err);

#endif
