/*
 * tty_escape: the escape character of maelstrom-run --tty.
 *
 * In TTY mode every key press goes to the job's terminal, control
 * characters included: ^C interrupts the job's foreground program, not
 * maelstrom-run. The escape character (configuration value `escape-char`,
 * default ^]) is how the user talks to maelstrom-run instead. The rule is
 * the Maelstrom book's:
 *
 *     ESC ^C     detach: maelstrom-run kills the job (it cannot run on
 *                without a terminal), restores the terminal and exits 1;
 *     ESC ^Z     suspend maelstrom-run (the job keeps running); `fg`
 *                resumes the session;
 *     ESC ESC    send one ESC to the job;
 *     ESC other  no special meaning: both characters go to the job;
 *     ESC alone  when nothing follows within TTY_ESCAPE_TIMEOUT_MS, the ESC
 *                goes to the job by itself.
 *
 * When the escape character is ^C or ^Z itself, typing it twice sends it,
 * as for any escape character.
 *
 * The filter is pure (no I/O): the session feeds it what the user typed
 * and writes what comes out to the job's terminal.
 *
 *     struct tty_escape e;
 *     tty_escape_init(&e, esc);
 *     size_t used;
 *     enum tty_escape_action act;
 *     size_t n = tty_escape_filter(&e, in, len, out, &used, &act);
 *     ... write out[0..n) to the job; act tells what the byte at
 *     ... in[used - 1] asked for; feed in[used..len) afterwards ...
 *     if (tty_escape_pending(&e)) ... arm the timer, and when it fires:
 *     n = tty_escape_flush(&e, out);
 */
#ifndef RUNNERS_RUN_TTY_ESCAPE_H
#define RUNNERS_RUN_TTY_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* How long an escape character waits for the next key (the book's 1.5 s). */
#define TTY_ESCAPE_TIMEOUT_MS 1500

/* The key that follows the escape character to detach or suspend. */
#define TTY_ESCAPE_DETACH_KEY 0x03  /* ^C */
#define TTY_ESCAPE_SUSPEND_KEY 0x1a /* ^Z */

/* Parses an `escape-char` value into *out. Accepted forms (ASCII only,
 * value 0 to 127):
 *   - one character: "a", "~";
 *   - caret notation: "^]", "^C", "^c" (same), "^@" (NUL), "^?" (DEL);
 *   - a byte literal starting with a backslash: "\n", "\r", "\t", "\\",
 *     "\0", "\'", "\"", "\x1d".
 * Returns 0, or -1 with *err saying what is wrong and which forms work
 * (the caller adds where the value came from). */
int tty_escape_parse(const char *text, unsigned char *out, struct err **err);

/* "^]", "~", "\x7f": how to show the character in messages and help.
 * buf must hold at least 5 bytes; returns buf. */
const char *tty_escape_name(unsigned char c, char buf[5]);

enum tty_escape_state {
	TTY_ESCAPE_IDLE,     /* forwarding */
	TTY_ESCAPE_PENDING,  /* the escape character was typed; waiting */
};

enum tty_escape_action {
	TTY_ESCAPE_NONE,     /* everything given was filtered */
	TTY_ESCAPE_DETACH,   /* ESC ^C */
	TTY_ESCAPE_SUSPEND,  /* ESC ^Z */
};

struct tty_escape {
	unsigned char ch;
	enum tty_escape_state state;
};

void tty_escape_init(struct tty_escape *e, unsigned char ch);

/* Filters in[0..len) into out, which must hold len + 1 bytes, and returns
 * the number of bytes written there. Stops right after a key that asks for
 * an action: *used is the number of input bytes taken and *action the
 * action (TTY_ESCAPE_NONE when all len bytes were taken). Bytes before the
 * action are in out and should reach the job first. */
size_t tty_escape_filter(struct tty_escape *e, const unsigned char *in, size_t len,
			 unsigned char *out, size_t *used, enum tty_escape_action *action);

/* True while an escape character waits for the next key. */
bool tty_escape_pending(const struct tty_escape *e);

/* The wait timed out: puts the pending escape character into out[0] and
 * returns 1, or returns 0 when none was pending. */
size_t tty_escape_flush(struct tty_escape *e, unsigned char *out);

#endif
