/*
 * extract: safe extraction of a layer tar into a directory, and safe removal
 * of such a directory.
 *
 * A layer tar comes from a user's project or an image registry and may be
 * hostile. extract_tar reads it with libarchive (plain tar, or gzip, zstd, xz,
 * ... compressed, auto-detected) and creates every entry itself with
 * openat-family calls relative to the destination, so that:
 *  - every entry lands inside dest_dir: absolute names and `..` components
 *    are refused, and no parent directory is ever a symbolic link (parents are
 *    resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or an
 *    O_NOFOLLOW walk where openat2 is missing): nothing is written through a
 *    link, whether it came from the tar or not;
 *  - hard links must name a file extracted earlier from the same tar;
 *  - relative symlink targets may not climb above the layer root (checked
 *    lexically from the link's directory); absolute targets are allowed,
 *    since they resolve inside the container root at run time. Host code must
 *    therefore never follow links inside an extracted layer;
 *  - device nodes, FIFOs and sockets are refused;
 *  - a later entry with the same name replaces the earlier one, except that
 *    nothing but a directory may replace a directory;
 *  - regular files keep their mode bits minus setuid/setgid, every entry keeps
 *    its mtime; ownership is not kept (extraction is rootless);
 *  - directories are created 0755 and get their own mode only at the end, so
 *    read-only directories in the tar do not block extraction.
 * After a successful extraction the whole tree is read-only: write bits are
 * cleared from every file and directory (read and execute bits are kept), so
 * that a job cannot modify a layer shared between jobs.
 *
 * Every error names the tar, the entry and what is wrong, e.g.
 *     layer tar /x.tar: entry `dev/sda` is a device node; layers may not
 *     contain devices
 * On error dest_dir is left with a partial tree, which the caller removes
 * (extract_remove_tree handles its read-only parts).
 *
 * Blocking file system work: run it off the reactor (core/offload.h).
 */
#ifndef ARTIFACTS_EXTRACT_H
#define ARTIFACTS_EXTRACT_H

#include <stdint.h>

#include "core/err.h"

/* What an extraction produced. */
struct extract_stats {
	uint64_t entries;    /* tar entries extracted */
	uint64_t disk_bytes; /* estimate of the space the tree takes on disk:
	                        file sizes rounded up to 4 KiB, plus 4 KiB per
	                        directory */
};

/* Extracts the tar file at tar_path into the existing empty directory
 * dest_dir. Returns 0, or -1 with *err set. */
int extract_tar(const char *tar_path, const char *dest_dir, struct err **err);

/* Same as extract_tar; also fills *stats (if not NULL) on success. */
int extract_tar_stats(const char *tar_path, const char *dest_dir,
		      struct extract_stats *stats, struct err **err);

/* Removes `name` (relative to the directory dirfd, or AT_FDCWD) and, if it is
 * a directory, everything below it. Never follows a symbolic link: links are
 * removed, not their targets. Read-only directories are made writable before
 * they are emptied. Uses three descriptors at most, whatever the depth. A
 * missing `name` is not an error. Only the last component of `name` is
 * protected against symlinks: name itself must be a trusted path. Returns 0,
 * or -1 with *err set. */
int extract_remove_tree(int dirfd, const char *name, struct err **err);

#endif
