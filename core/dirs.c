#include "core/dirs.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	if (home && *home)
		return home;
	struct passwd *pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/tmp";
}

char *dirs_resolve(const char *configured, const char *xdg_var, const char *home_fallback,
		   const char *suffix)
{
	char *out = NULL;
	if (configured && *configured) {
		out = strdup(configured);
	} else {
		const char *base = getenv(xdg_var);
		int n = base && *base ? asprintf(&out, "%s/%s", base, suffix)
				      : asprintf(&out, "%s/%s/%s", home_dir(), home_fallback, suffix);
		if (n < 0)
			out = NULL;
	}
	if (!out)
		abort();
	return out;
}

int dirs_make(const char *path, struct err **err)
{
	char *p = strdup(path);
	if (!p)
		abort();
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			err_set(err, errno, "cannot create directory %s", p);
			free(p);
			return -1;
		}
		*s = saved;
		if (!saved)
			break;
	}
	free(p);
	return 0;
}
