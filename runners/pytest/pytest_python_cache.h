/*
 * pytest_python_cache: the interpreter a run of maelstrom-pytest adopted,
 * kept for the next run, so that the next run can build the tests'
 * container and start its zygote before its collection helper has said
 * which interpreter works and what the container must copy of it
 * (runners/pytest/pytest_discover.h). It is only a guess: the helper's
 * fresh "python" record always wins, and a guess that turns out wrong
 * costs a zygote that idles out unused.
 *
 * The file (maelstrom-pytest keeps it at
 * <project>/.maelstrom-pytest/cache/python.json) holds one JSON object:
 *     {"interpreter": CANDIDATE, "python": RECORD}
 * CANDIDATE is the interpreter as it was tried (pytest_python_candidates)
 * and RECORD the helper's "python" record as it came, before
 * pytest_python_check_extensions (runners/pytest/pytest_python.h). It is
 * replaced whole (written aside, then renamed), so a reader never sees
 * half of one.
 */
#ifndef RUNNERS_PYTEST_PYTHON_CACHE_H
#define RUNNERS_PYTEST_PYTHON_CACHE_H

#include "core/err.h"
#include "runners/pytest/pytest_python.h"

/* Reads the file at path: returns 1 with *interpreter (heap) and *py
 * filled; 0 when there is no such file (both left alone); -1 with *err
 * naming the file when it cannot be read or is not such an object. */
int pytest_python_cache_load(const char *path, char **interpreter, struct pytest_python *py,
			     struct err **err);

/* Replaces the file at path with interpreter and py. */
int pytest_python_cache_save(const char *path, const char *interpreter,
			     const struct pytest_python *py, struct err **err);

#endif
