/*
 * junit: a JUnit XML report of a test run, the format CI systems read.
 *
 *     <?xml version="1.0" encoding="UTF-8"?>
 *     <testsuites tests="3" failures="1" errors="0" skipped="1" time="0.250">
 *       <testsuite name="pkg::binary" tests="3" failures="1" errors="0" skipped="1" time="0.250">
 *         <testcase name="mod::ok" classname="pkg::binary" time="0.050"/>
 *         <testcase name="mod::bad" classname="pkg::binary" time="0.200">
 *           <failure message="exited with code 101" type="failure">exited with code 101</failure>
 *           <system-out>...</system-out>
 *           <system-err>...</system-err>
 *         </testcase>
 *         <testcase name="mod::later" classname="pkg::binary" time="0.000">
 *           <skipped/>
 *         </testcase>
 *       </testsuite>
 *     </testsuites>
 *
 * One <testsuite> per distinct `suite` value, in the order suites first
 * appear in the input; inside it the cases keep their input order. Outcomes
 * map as follows:
 *     JUNIT_PASSED     no child element
 *     JUNIT_FAILED     <failure type="failure">, counted in failures
 *     JUNIT_TIMED_OUT  <failure type="timeout">, counted in failures
 *     JUNIT_ERROR      <error type="error">, counted in errors (the test
 *                      could not run: execution or system error, canceled)
 *     JUNIT_SKIPPED    <skipped/>, counted in skipped (ignored tests)
 * The message, when given, is both the element's message attribute and its
 * text. Captured output goes to <system-out>/<system-err>, for every outcome.
 *
 * Text is escaped for XML 1.0: markup characters become entities; newlines,
 * tabs and carriage returns inside attributes become character references
 * so parsers keep them; terminal colour sequences (ESC [ ... letter) are
 * dropped; other characters XML 1.0 forbids (control characters, U+FFFE,
 * U+FFFF) and bytes that are not UTF-8 become U+FFFD. The result is always
 * well-formed, whatever the tests print or are called.
 *
 * Nothing here keeps pointers past the call; the caller owns the cases.
 */
#ifndef RUNNERS_JUNIT_H
#define RUNNERS_JUNIT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

enum junit_outcome {
	JUNIT_PASSED,
	JUNIT_FAILED,
	JUNIT_ERROR,
	JUNIT_TIMED_OUT,
	JUNIT_SKIPPED,
};

struct junit_case {
	const char *suite;       /* cargo: "pkg::binary" (or the package); pytest: the package */
	const char *name;        /* the test's name */
	const char *classname;   /* NULL: the suite */
	enum junit_outcome outcome;
	double seconds;          /* how long it ran; negative or NaN counts as 0 */
	const char *message;     /* why it failed, errored or was skipped; NULL for none */
	const char *stdout_data; /* captured output, may hold NULs (they become U+FFFD) */
	size_t stdout_len;       /* 0: no <system-out> */
	const char *stderr_data;
	size_t stderr_len;       /* 0: no <system-err> */
};

/* "passed", "failed", "error", "timed out", "skipped". */
const char *junit_outcome_name(enum junit_outcome outcome);

/* Appends the whole report for n cases to out (which the caller owns). */
void junit_format(struct buf *out, const struct junit_case *cases, size_t n);

/* Appends s[0..len) to out escaped for an XML attribute value (in_attr) or
 * for element text. */
void junit_escape(struct buf *out, const char *s, size_t len, bool in_attr);

/* Writes the report for n cases to path atomically (temporary file, then
 * rename). The directory must exist. n == 0 writes a <testsuites> with no
 * suite. */
int junit_write(const char *path, const struct junit_case *cases, size_t n, struct err **err);

#endif
