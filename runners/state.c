#include "runners/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/fdio.h"
#include "core/log.h"
#include "core/xalloc.h"

#define STATE_FORMAT "maelstrom-test-listing"

/* One test's record. The history is a ring: hist_start is the oldest entry,
 * hist_len how many are kept. */
struct entry {
	char *id;
	uint64_t ms[STATE_HISTORY];
	bool passed[STATE_HISTORY];
	unsigned hist_start, hist_len;
	bool last_failed;   /* verdict of the last closed run that included it */
	bool cur_ran;       /* recorded in the current run */
	bool cur_failed;    /* ... with at least one failure */
	bool seen;          /* listed or recorded in the current run */
};

/* Open addressing with linear probing; cap is a power of two, at most half
 * full. */
struct state {
	char *dir, *path;
	struct entry **slots;
	size_t cap, len;
};

static size_t slot_of(const struct state *s, const char *id)
{
	size_t mask = s->cap - 1;
	size_t i = (size_t)XXH3_64bits(id, strlen(id)) & mask;
	while (s->slots[i] && strcmp(s->slots[i]->id, id) != 0)
		i = (i + 1) & mask;
	return i;
}

static struct entry *lookup(const struct state *s, const char *id)
{
	return s->slots[slot_of(s, id)];
}

static void rehash(struct state *s, size_t cap)
{
	struct entry **old = s->slots;
	size_t old_cap = s->cap;
	s->slots = xcalloc(cap, sizeof *s->slots);
	s->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			s->slots[slot_of(s, old[i]->id)] = old[i];
	free(old);
}

/* Returns the entry for id, creating an empty one when missing. */
static struct entry *get_or_add(struct state *s, const char *id)
{
	size_t i = slot_of(s, id);
	if (s->slots[i])
		return s->slots[i];
	if ((s->len + 1) * 2 > s->cap) {
		rehash(s, s->cap * 2);
		i = slot_of(s, id);
	}
	struct entry *e = xcalloc(1, sizeof *e);
	e->id = xstrdup(id);
	s->slots[i] = e;
	s->len++;
	return e;
}

static void entry_free(struct entry *e)
{
	if (e) {
		free(e->id);
		free(e);
	}
}

static void hist_push(struct entry *e, bool passed, uint64_t ms)
{
	unsigned at;
	if (e->hist_len < STATE_HISTORY) {
		at = (e->hist_start + e->hist_len) % STATE_HISTORY;
		e->hist_len++;
	} else {
		at = e->hist_start;
		e->hist_start = (e->hist_start + 1) % STATE_HISTORY;
	}
	e->passed[at] = passed;
	e->ms[at] = ms;
}

static bool entry_failed_last(const struct entry *e)
{
	return e->cur_ran ? e->cur_failed : e->last_failed;
}

static uint64_t entry_expected_ms(const struct entry *e)
{
	if (!e || e->hist_len == 0)
		return 0;
	/* Saturate rather than wrap on absurd durations. */
	uint64_t sum = 0;
	for (unsigned k = 0; k < e->hist_len; k++) {
		uint64_t v = e->ms[(e->hist_start + k) % STATE_HISTORY];
		sum = sum > UINT64_MAX - v ? UINT64_MAX : sum + v;
	}
	return sum / e->hist_len;
}

static struct state *state_new_empty(const char *dir)
{
	struct state *s = xcalloc(1, sizeof *s);
	s->dir = xstrdup(dir);
	if (asprintf(&s->path, "%s/%s", dir, STATE_FILE_NAME) < 0)
		abort();
	s->cap = 64;
	s->slots = xcalloc(s->cap, sizeof *s->slots);
	return s;
}

static void state_clear(struct state *s)
{
	for (size_t i = 0; i < s->cap; i++) {
		entry_free(s->slots[i]);
		s->slots[i] = NULL;
	}
	s->len = 0;
}

void state_free(struct state *s)
{
	if (!s)
		return;
	state_clear(s);
	free(s->slots);
	free(s->dir);
	free(s->path);
	free(s);
}

const char *state_path(const struct state *s)
{
	return s->path;
}

size_t state_size(const struct state *s)
{
	return s->len;
}

/* ---- reading ---------------------------------------------------------- */

/* Reads the whole file into b. Returns 1 when read, 0 when missing, -1 on
 * error. */
static int read_file(const char *path, struct buf *b, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* ENOTDIR: a file where a directory should be; state_save will
		 * report it, loading just finds nothing. */
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return err_set(err, errno, "cannot open test listing %s (fix its permissions or remove it)",
			       path);
	}
	for (;;) {
		buf_reserve(b, 65536);
		ssize_t n = read(fd, b->data + b->len, b->cap - 1 - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "cannot read test listing %s (remove it to start afresh)",
				       path);
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	return 1;
}

/* Fills one entry from its JSON record. Returns false (with a reason) when
 * the record has the wrong shape. */
static bool parse_entry(struct state *s, const char *id, json_t *rec, const char **why)
{
	json_t *outcomes = json_object_get(rec, "outcomes");
	json_t *durations = json_object_get(rec, "durations_ms");
	json_t *failed = json_object_get(rec, "failed_last_run");
	if (!json_is_object(rec) || !json_is_string(outcomes) || !json_is_array(durations) ||
	    !json_is_boolean(failed)) {
		*why = "a test record lacks \"outcomes\", \"durations_ms\" or \"failed_last_run\"";
		return false;
	}
	const char *letters = json_string_value(outcomes);
	size_t n = strlen(letters);
	if (n != json_string_length(outcomes) || n != json_array_size(durations)) {
		*why = "a test record's \"outcomes\" and \"durations_ms\" differ in length";
		return false;
	}
	struct entry *e = get_or_add(s, id);
	e->last_failed = json_is_true(failed);
	/* Older entries beyond the history are skipped, not an error. */
	for (size_t k = n > STATE_HISTORY ? n - STATE_HISTORY : 0; k < n; k++) {
		json_t *d = json_array_get(durations, k);
		if (!json_is_integer(d) || json_integer_value(d) < 0 ||
		    (letters[k] != 'P' && letters[k] != 'F')) {
			*why = "a test record holds an outcome other than P or F, or a bad duration";
			return false;
		}
		hist_push(e, letters[k] == 'P', (uint64_t)json_integer_value(d));
	}
	return true;
}

/* Fills s from the file's text; false (with a reason) when it is not ours. */
static bool parse_listing(struct state *s, const struct buf *text, const char **why,
			  char *detail, size_t detail_size)
{
	json_error_t jerr;
	json_t *root = json_loadb(text->data ? text->data : "", text->len,
				  JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(detail, detail_size, " (line %d: %s)", jerr.line, jerr.text);
		*why = "it is not valid JSON";
		return false;
	}
	bool ok = false;
	json_t *format = json_object_get(root, "format");
	json_t *version = json_object_get(root, "version");
	json_t *tests = json_object_get(root, "tests");
	if (!json_is_object(root) || !json_is_string(format) ||
	    strcmp(json_string_value(format), STATE_FORMAT) != 0) {
		*why = "it is not a maelstrom test listing";
	} else if (!json_is_integer(version) || json_integer_value(version) != STATE_VERSION) {
		snprintf(detail, detail_size, " (version %" JSON_INTEGER_FORMAT ", expected %d)",
			 json_is_integer(version) ? json_integer_value(version) : -1,
			 STATE_VERSION);
		*why = "it has another version";
	} else if (!json_is_object(tests)) {
		*why = "it has no \"tests\" object";
	} else {
		const char *id;
		json_t *rec;
		ok = true;
		json_object_foreach(tests, id, rec) {
			if (!parse_entry(s, id, rec, why)) {
				snprintf(detail, detail_size, " (test %s)", id);
				ok = false;
				break;
			}
		}
	}
	json_decref(root);
	return ok;
}

int state_load(struct state **out, const char *dir, struct err **err)
{
	*out = NULL;
	struct state *s = state_new_empty(dir);
	struct buf text = BUF_INIT;
	int r = read_file(s->path, &text, err);
	if (r < 0) {
		buf_release(&text);
		state_free(s);
		return -1;
	}
	if (r > 0) {
		const char *why = "";
		char detail[256] = "";
		if (!parse_listing(s, &text, &why, detail, sizeof detail)) {
			log_warning("ignoring test listing %s: %s%s; every test counts as new, "
				    "and the file will be replaced",
				    s->path, why, detail);
			state_clear(s);
		}
	}
	buf_release(&text);
	*out = s;
	return 0;
}

/* ---- queries and updates ------------------------------------------------ */

bool state_is_new(const struct state *s, const char *id)
{
	return lookup(s, id) == NULL;
}

bool state_failed_last(const struct state *s, const char *id)
{
	const struct entry *e = lookup(s, id);
	return e && entry_failed_last(e);
}

uint64_t state_expected_ms(const struct state *s, const char *id)
{
	return entry_expected_ms(lookup(s, id));
}

void state_record(struct state *s, const char *id, bool passed, uint64_t duration_ms)
{
	struct entry *e = get_or_add(s, id);
	hist_push(e, passed, duration_ms);
	e->cur_ran = true;
	if (!passed)
		e->cur_failed = true;
	e->seen = true;
}

void state_begin_run(struct state *s)
{
	for (size_t i = 0; i < s->cap; i++) {
		struct entry *e = s->slots[i];
		if (!e)
			continue;
		e->last_failed = entry_failed_last(e);
		e->cur_ran = e->cur_failed = e->seen = false;
	}
}

void state_mark_seen(struct state *s, const char *id)
{
	struct entry *e = lookup(s, id);
	if (e)
		e->seen = true;
}

size_t state_prune_unseen(struct state *s)
{
	size_t dropped = 0;
	for (size_t i = 0; i < s->cap; i++) {
		struct entry *e = s->slots[i];
		if (e && !e->seen) {
			entry_free(e);
			s->slots[i] = NULL;
			dropped++;
		}
	}
	s->len -= dropped;
	/* Holes break probe chains: re-place everything that is left. */
	if (dropped)
		rehash(s, s->cap);
	return dropped;
}

/* ---- order -------------------------------------------------------------- */

struct sort_key {
	const char *id;
	bool urgent;        /* new, or failed in its last run */
	uint64_t ms;
	struct test_case *tc;
};

static struct sort_key key_of(const struct state *s, const char *id)
{
	const struct entry *e = lookup(s, id);
	struct sort_key k = {
		.id = id,
		.urgent = !e || entry_failed_last(e),
		.ms = entry_expected_ms(e),
	};
	return k;
}

static int compare_keys(const struct sort_key *a, const struct sort_key *b)
{
	if (a->urgent != b->urgent)
		return a->urgent ? -1 : 1;
	if (a->ms != b->ms)
		return a->ms > b->ms ? -1 : 1;
	return strcmp(a->id, b->id);
}

int state_compare(const struct state *s, const char *a, const char *b)
{
	struct sort_key ka = key_of(s, a), kb = key_of(s, b);
	return compare_keys(&ka, &kb);
}

int state_compare_cases(const void *a, const void *b, void *state)
{
	const struct test_case *ta = *(struct test_case *const *)a;
	const struct test_case *tb = *(struct test_case *const *)b;
	return state_compare(state, ta->id, tb->id);
}

static int compare_sort_keys(const void *a, const void *b)
{
	return compare_keys(a, b);
}

void state_sort(const struct state *s, struct test_case **tests, size_t n)
{
	if (n < 2)
		return;
	struct sort_key *keys = xcalloc(n, sizeof *keys);
	for (size_t i = 0; i < n; i++) {
		keys[i] = key_of(s, tests[i]->id);
		keys[i].tc = tests[i];
	}
	qsort(keys, n, sizeof *keys, compare_sort_keys);
	for (size_t i = 0; i < n; i++)
		tests[i] = keys[i].tc;
	free(keys);
}

/* ---- writing ------------------------------------------------------------ */

int state_write_atomic(const char *path, const void *data, size_t len, struct err **err)
{
	/* Name the temporary file after the target, with a random suffix, and
	 * create it exclusively; open() (not mkstemp) so the umask applies. */
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	for (int attempt = 0; fd < 0; attempt++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
			rnd = (uint64_t)getpid() * 1000003u + (uint64_t)attempt;
		free(tmp);
		if (asprintf(&tmp, "%s.tmp-%016" PRIx64, path, rnd) < 0)
			abort();
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && (errno != EEXIST || attempt >= 100))
			return err_set(err, errno, "cannot create a temporary file next to %s", path);
	}
	if (fd_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot write %s", tmp);
	}
	if (close(steal_fd(&fd)) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(err, saved, "cannot replace %s", path);
	}
	return 0;
}

/* mkdir -p; created directories get 0777 less the umask. */
static int make_dirs(const char *dir, struct err **err)
{
	_cleanup_free_ char *p = xstrdup(dir);
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			return err_set(err, errno, "cannot create state directory %s", p);
		p[i] = saved;
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return err_set(err, errno, "cannot create state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, ENOTDIR, "state directory %s", dir);
	return 0;
}

static json_t *entry_to_json(const struct entry *e)
{
	char letters[STATE_HISTORY + 1];
	json_t *durations = json_array();
	for (unsigned k = 0; k < e->hist_len; k++) {
		unsigned at = (e->hist_start + k) % STATE_HISTORY;
		letters[k] = e->passed[at] ? 'P' : 'F';
		uint64_t ms = e->ms[at] > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : e->ms[at];
		json_array_append_new(durations, json_integer((json_int_t)ms));
	}
	letters[e->hist_len] = '\0';
	return json_pack("{s:s, s:o, s:b}", "outcomes", letters, "durations_ms", durations,
			 "failed_last_run", entry_failed_last(e));
}

int state_save(struct state *s, struct err **err)
{
	if (make_dirs(s->dir, err) < 0)
		return err_wrap(err, "cannot save test listing");
	json_t *tests = json_object();
	for (size_t i = 0; i < s->cap; i++) {
		const struct entry *e = s->slots[i];
		/* jansson takes only UTF-8 keys; an id that is not cannot be
		 * stored, and the test simply counts as new next time. */
		if (e && json_object_set_new(tests, e->id, entry_to_json(e)) < 0)
			log_debug("test listing: cannot store test id %s (not UTF-8)", e->id);
	}
	json_t *root = json_pack("{s:s, s:i, s:o}", "format", STATE_FORMAT, "version",
				 STATE_VERSION, "tests", tests);
	if (!root)
		abort();
	char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (!text)
		abort();
	size_t len = strlen(text);
	text[len] = '\n'; /* overwrite the NUL: the length is known */
	int r = state_write_atomic(s->path, text, len + 1, err);
	free(text);
	if (r < 0)
		return err_wrap(err, "cannot save test listing");
	return 0;
}
