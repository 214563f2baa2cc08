/*
 * pytest_python_cache: the last run's interpreter, in a file. See
 * pytest_python_cache.h.
 */
#include "runners/pytest/pytest_python_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xalloc.h"

int pytest_python_cache_load(const char *path, char **interpreter, struct pytest_python *py,
			     struct err **err)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	json_error_t jerr;
	json_t *top = json_load_file(path, 0, &jerr);
	if (!top)
		return err_set(err, 0, "%s:%d: %s (delete the file: the next run writes it again)",
			       path, jerr.line, jerr.text);
	int rc = 0;
	const char *interp = json_string_value(json_object_get(top, "interpreter"));
	if (!interp || !*interp) {
		rc = err_set(err, 0, "%s: `interpreter` is not a non-empty string (delete the file: "
			     "the next run writes it again)", path);
	} else if (pytest_python_from_json(json_object_get(top, "python"), py, err) < 0) {
		rc = err_wrap(err, "%s: `python`", path);
	} else {
		*interpreter = xstrdup(interp);
		rc = 1;
	}
	json_decref(top);
	return rc;
}

int pytest_python_cache_save(const char *path, const char *interpreter,
			     const struct pytest_python *py, struct err **err)
{
	json_t *top = json_object();
	if (!top)
		abort(); /* out of memory */
	json_object_set_new(top, "interpreter", json_string(interpreter));
	json_object_set_new(top, "python", pytest_python_to_json(py));
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	int rc = 0;
	if (json_dump_file(top, tmp, JSON_COMPACT | JSON_SORT_KEYS) < 0) {
		rc = err_set(err, errno, "cannot write %s", tmp);
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		rc = err_set(err, errno, "cannot rename %s to %s", tmp, path);
		unlink(tmp);
	}
	free(tmp);
	json_decref(top);
	return rc;
}
