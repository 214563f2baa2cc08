#include "runners/spec_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fdio.h"
#include "core/xalloc.h"

int spec_file_load(const char *dir, const char *name, const struct filter_flavor *fl,
		   struct directives **out, struct err **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	if (access(path, F_OK) == 0)
		return directives_load(out, path, NULL, fl, err);
	return directives_load(out, NULL, directives_default_text(fl), fl, err);
}

int spec_file_init(const char *dir, const char *name, const char *program,
		   const struct filter_flavor *fl, char **path, struct err **err)
{
	*path = NULL;
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST)
			return err_set(err, 0, "%s already exists; %s --init does not overwrite "
					       "it (remove it first to start over)", p, program);
		return err_set(err, e, "cannot create %s", p);
	}
	const char *text = directives_init_text(fl);
	if (fd_write_all(fd, text, strlen(text)) < 0) {
		err_set(err, errno, "writing %s", p);
		close(fd);
		unlink(p);
		return -1;
	}
	if (close(fd) < 0)
		return err_set(err, errno, "writing %s", p);
	*path = steal_pointer(&p);
	return 0;
}
