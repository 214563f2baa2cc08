/*
 * jsonstream: incremental reader for a stream of concatenated JSON objects.
 *
 * `maelstrom-run` reads job specifications on standard input: JSON objects
 * back to back, separated by any whitespace (or none), arriving in chunks
 * of any size. A jsonstream takes those chunks as they come
 * (jsonstream_feed), finds each complete top-level value with a small
 * scanner (nesting depth, strings, escapes), decodes it with jansson and
 * hands the object to a callback with its position in the stream:
 *
 *     struct jsonstream *js = jsonstream_new("job", on_job, on_error, ctx);
 *     while ((n = read(0, buf, sizeof(buf))) > 0)
 *         jsonstream_feed(js, buf, n);
 *     jsonstream_finish(js);
 *     jsonstream_free(js);
 *
 * Positions: every top-level value, good or bad, gets the next 1-based
 * index. Lines and columns are 1-based; columns count UTF-8 characters, as
 * jansson does, so a column is where the character appears in an editor.
 *
 * Errors never stop the stream. Each is reported once through the error
 * callback, with a message naming the value by the noun given to
 * jsonstream_new():
 *
 *     job 3 at line 7 column 12: string or '}' expected near ','
 *         malformed JSON; the position is jansson's, translated into
 *         stream coordinates, and the text is jansson's;
 *     job 2 at line 5: expected a JSON object
 *         well-formed, but not an object (an array, a number, ...);
 *     input ended inside job 4, which started at line 20 column 1
 *         from jsonstream_finish(), for a truncated final value.
 *
 * After an error the reader resynchronises so that later values still
 * arrive: when the scanner delimited the bad value it skips exactly that
 * value; when it cannot tell where the value ends (a closing bracket of the
 * wrong kind, a line break inside a string) it skips to the next line that
 * starts with `{`. A `{` at the start of a line inside an unfinished value
 * is also checked: if the text so far cannot be the beginning of valid JSON
 * (say a closing brace was forgotten), the unfinished value is reported and
 * a new value starts at that line.
 *
 * Ownership: the value passed to the value callback belongs to the callee
 * (json_decref it). Messages and positions passed to callbacks are valid
 * only during the call. Callbacks must not free the jsonstream or feed it.
 * Duplicate keys in an object are an error (JSON_REJECT_DUPLICATES).
 */
#ifndef CORE_JSONSTREAM_H
#define CORE_JSONSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct json_pos {
	size_t index;  /* 1-based index of the value in the stream */
	size_t line;   /* 1-based line */
	size_t column; /* 1-based column, in characters */
};

/* Receives one decoded object; pos is where the value started. */
typedef void (*jsonstream_value_fn)(void *arg, json_t *value, const struct json_pos *pos);

/* Receives one error; pos->index is the value's index and line/column is
 * where the problem was found (see the messages above). */
typedef void (*jsonstream_error_fn)(void *arg, const struct json_pos *pos, const char *msg);

struct jsonstream;

/* Creates a reader. noun names a value in messages ("job"; NULL means
 * "value") and is not copied: pass a literal. Aborts on out-of-memory. */
struct jsonstream *jsonstream_new(const char *noun, jsonstream_value_fn on_value,
				  jsonstream_error_fn on_error, void *arg);

/* Frees the reader and anything still buffered. Safe on NULL. */
void jsonstream_free(struct jsonstream *js);

/* Scans len bytes, calling the callbacks for every value completed by them.
 * Bytes of an unfinished value are kept until a later call completes it. */
void jsonstream_feed(struct jsonstream *js, const void *data, size_t len);

/* Ends the stream: completes a final bare value (`42` is only known to end
 * at end of input) and reports a truncated one. Returns false if the input
 * ended inside a value. Feed nothing afterwards. */
bool jsonstream_finish(struct jsonstream *js);

/* How many top-level values have started so far (the last index). */
size_t jsonstream_count(const struct jsonstream *js);

/* How many errors have been reported so far. */
size_t jsonstream_errors(const struct jsonstream *js);

#endif
