/*
 * digest_map: a bounded map digest -> digest, kept in memory and persisted
 * in one small text file so that it survives the process. The path->digest
 * cache (pathcache.h) and the layer cache (layer_build.h) are both built on
 * it.
 *
 * File format (one record per line, oldest first):
 *     <magic>\n
 *     <32 hex key> <32 hex value>\n
 *     ...
 * A file with another magic, or lines that do not parse, are ignored (a
 * cache may always be dropped). The file is replaced atomically (temp file
 * in the same directory, fsync, rename) under an flock on "<path>.lock";
 * before writing, the records other processes saved in the meantime are
 * merged in, so several processes sharing a cache root lose nothing but
 * the least recently used records beyond max_entries.
 *
 * Entries put with persist == false live in memory only (used for records
 * whose inputs are too fresh to trust across processes, see pathcache.h).
 * Not thread-safe.
 */
#ifndef ARTIFACTS_DIGEST_MAP_H
#define ARTIFACTS_DIGEST_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "artifacts/digest.h"

struct err;
struct digest_map;

/* Creates a map and loads path if it exists. path == NULL: memory only.
 * magic is the first line of the file (no newline; copied). A missing or
 * foreign file gives an empty map; only allocation can fail. */
int digest_map_open(struct digest_map **out, const char *path, const char *magic,
		    size_t max_entries, struct err **err);

/* Frees the map without saving. Safe on NULL. */
void digest_map_free(struct digest_map *m);

/* Looks key up; marks it recently used. */
bool digest_map_get(struct digest_map *m, const struct digest *key, struct digest *val);

/* Inserts or replaces key -> val. */
void digest_map_put(struct digest_map *m, const struct digest *key, const struct digest *val,
		    bool persist);

/* Merges the file's current records and writes the map back, if anything
 * was put since the last save. The in-memory map gains the merged records. */
int digest_map_save(struct digest_map *m, struct err **err);

/* Number of records in memory. */
size_t digest_map_size(const struct digest_map *m);

#endif
