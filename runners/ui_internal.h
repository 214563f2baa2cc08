/*
 * ui_internal: what the files of the UI share (runners/ui.c, ui_bar.c,
 * ui_line.c). Not for other modules.
 */
#ifndef RUNNERS_UI_INTERNAL_H
#define RUNNERS_UI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "runners/ui.h"

/* SGR sequences. */
#define UI_SGR_RESET "\033[0m"
#define UI_SGR_BOLD "\033[1m"
#define UI_SGR_RED "\033[31m"
#define UI_SGR_GREEN "\033[32m"
#define UI_SGR_YELLOW "\033[33m"

/* Width assumed when the output is not a terminal, or its size is unknown. */
#define UI_PLAIN_WIDTH 80u

/* Columns a UTF-8 string takes: one per code point. */
size_t ui_cols(const char *s);

/* Appends s, wrapped in the SGR sequence sgr when color is on. */
void ui_put_colored(struct buf *b, bool color, const char *sgr, const char *s);

/* The SGR sequence of an outcome word (green, red or yellow). */
const char *ui_outcome_sgr(enum ui_outcome o);

/* Appends a finished test's line, then for the failure outcomes (when
 * with_output) its detail and captured output. width is the line's width in
 * columns. */
void ui_format_done(struct buf *b, const char *display, enum ui_outcome o, uint64_t duration_ns,
		    const struct job_result *res, const char *detail, unsigned width, bool color,
		    bool with_output);

/* Appends the summary (starting with an empty line). */
void ui_format_summary(struct buf *b, const struct ui_summary *s, unsigned width, bool color);

#endif
