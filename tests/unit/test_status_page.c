/* Unit tests for net/status_page: escaping, the page's content from the
 * status document (including missing and mistyped fields), byte sizes, and
 * the request router. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "net/http.h"
#include "net/status_page.h"

static const struct http_request *parse_one(struct http_parser *p, const char *text)
{
	http_parser_feed(p, text, strlen(text));
	const struct http_request *req = NULL;
	int status = 0;
	assert_int_equal(http_parser_next(p, &req, &status), 1);
	return req;
}

static void test_status_escape(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	status_page_escape(&b, "<a href='x'>&\"y\"</a> ok");
	assert_string_equal(b.data, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;y&quot;&lt;/a&gt; ok");
	buf_release(&b);
}

static size_t count_of_text(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static char *render(const char *json_text)
{
	json_error_t jerr;
	json_t *status = json_text ? json_loads(json_text, 0, &jerr) : NULL;
	if (json_text && !status)
		fail_msg("bad test JSON: %s", jerr.text);
	struct buf b = BUF_INIT;
	status_page_render(&b, status);
	json_decref(status);
	return buf_detach(&b, NULL);
}

static void test_status_page_content(void **state)
{
	(void)state;
	char *page = render(
		"{\"workers\":[{\"name\":\"w1\",\"address\":\"10.0.0.2:41234\",\"slots\":8,"
		"\"running\":3},{\"name\":\"<script>alert(1)</script>\",\"address\":\"a&b\","
		"\"slots\":8,\"running\":2}],\"clients\":7,"
		"\"jobs\":{\"waiting_for_artifacts\":1,\"pending\":4,\"running\":5,\"completed\":120},"
		"\"cache\":{\"bytes_used\":1500000000,\"cache_size\":4000000000},"
		"\"stats\":{\"jobs_total\":125,\"note\":\"<b>x</b>\",\"nested\":{\"k\":[1]}}}");
	assert_true(strncmp(page, "<!DOCTYPE html>", 15) == 0);
	assert_non_null(strstr(page, "</html>\n"));
	/* Self-contained: no external assets. */
	assert_null(strstr(page, "src="));
	assert_null(strstr(page, "<link"));
	assert_null(strstr(page, "http://"));
	assert_null(strstr(page, "https://"));
	/* Our one script; the hostile name is escaped. */
	assert_int_equal(count_of_text(page, "<script"), 1);
	assert_non_null(strstr(page, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
	assert_non_null(strstr(page, "<td>a&amp;b</td>"));
	assert_non_null(strstr(page, "<td>w1</td><td>10.0.0.2:41234</td><td class=\"n\">8</td>"
				     "<td class=\"n\">3</td>"));
	assert_non_null(strstr(page, "id=\"workers-count\">2<"));
	assert_non_null(strstr(page, "id=\"slots\">5 / 16<"));
	assert_non_null(strstr(page, "id=\"slots-bar\" style=\"width:31%\""));
	assert_non_null(strstr(page, "id=\"clients\">7<"));
	assert_non_null(strstr(page, "id=\"jobs-waiting_for_artifacts\">1<"));
	assert_non_null(strstr(page, "id=\"jobs-pending\">4<"));
	assert_non_null(strstr(page, "id=\"jobs-running\">5<"));
	assert_non_null(strstr(page, "id=\"jobs-completed\">120<"));
	assert_non_null(strstr(page, "id=\"cache\">1.5 GB / 4 GB<"));
	assert_non_null(strstr(page, "id=\"cache-bar\" style=\"width:37%\""));
	assert_non_null(strstr(page, "<th>jobs_total</th><td>125</td>"));
	assert_non_null(strstr(page, "<th>note</th><td>&lt;b&gt;x&lt;/b&gt;</td>"));
	assert_non_null(strstr(page, "<th>nested</th><td>{&quot;k&quot;:[1]}</td>"));
	/* The script polls the JSON API. */
	assert_non_null(strstr(page, "fetch('/api/status'"));
	free(page);
}

static void test_status_page_missing_data(void **state)
{
	(void)state;
	/* No document at all, and one with every field missing or mistyped:
	 * dashes, no crash. */
	char *page = render(NULL);
	assert_non_null(strstr(page, "no status available"));
	assert_non_null(strstr(page, "id=\"clients\">\xe2\x80\x93<"));
	assert_non_null(strstr(page, "No workers connected"));
	free(page);
	page = render("{\"workers\":[{\"name\":5,\"slots\":\"x\",\"running\":-1}],"
		      "\"clients\":\"many\",\"jobs\":[],\"cache\":{\"bytes_used\":10},"
		      "\"stats\":7}");
	assert_non_null(strstr(page, "id=\"clients\">\xe2\x80\x93<"));
	assert_non_null(strstr(page, "id=\"jobs-pending\">\xe2\x80\x93<"));
	assert_non_null(strstr(page, "id=\"cache\">\xe2\x80\x93<"));
	assert_non_null(strstr(page, "id=\"slots\">0 / 0<"));
	assert_non_null(strstr(page, "<td>\xe2\x80\x93</td>"));
	free(page);
}

static void test_status_page_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *used, *size, *want;
	} cases[] = {
		{ "0", "999", "id=\"cache\">0 B / 999 B<" },
		{ "1000", "1049", "id=\"cache\">1 kB / 1 kB<" },
		{ "1050", "1500000", "id=\"cache\">1.1 kB / 1.5 MB<" },
		{ "999949", "12000000000000", "id=\"cache\">999.9 kB / 12 TB<" },
		{ "9223372036854775807", "1", "id=\"cache\">9.2 EB / 1 B<" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[200];
		snprintf(json, sizeof(json), "{\"cache\":{\"bytes_used\":%s,\"cache_size\":%s}}",
			 cases[i].used, cases[i].size);
		char *page = render(json);
		if (!strstr(page, cases[i].want))
			fail_msg("case %zu: no `%s`", i, cases[i].want);
		free(page);
	}
}

/* The readers maelstrom-admin shares with the page. */
static void test_status_page_readers(void **state)
{
	(void)state;
	json_t *doc = json_loads("{\"workers\": [{\"slots\": 8, \"running\": 3}, "
				 "{\"slots\": 2.0, \"running\": -1}, {\"slots\": \"x\"}, 7], "
				 "\"clients\": 2}", 0, NULL);
	assert_non_null(doc);
	uint64_t n = 99;
	assert_true(status_page_count(status_page_field(doc, "clients"), &n));
	assert_int_equal(n, 2);
	assert_null(status_page_field(doc, "jobs"));
	assert_null(status_page_field(status_page_field(doc, "clients"), "x"));
	assert_false(status_page_count(NULL, &n));
	assert_int_equal(n, 2);
	json_t *neg = json_integer(-1), *big = json_real(2e19), *str = json_string("1");
	assert_false(status_page_count(neg, &n));
	assert_false(status_page_count(big, &n));
	assert_false(status_page_count(str, &n));
	json_decref(neg);
	json_decref(big);
	json_decref(str);
	uint64_t used = 1, total = 1;
	status_page_slots(status_page_field(doc, "workers"), &used, &total);
	assert_int_equal(used, 3);
	assert_int_equal(total, 10);
	status_page_slots(status_page_field(doc, "clients"), &used, &total);
	assert_int_equal(used, 0);
	assert_int_equal(total, 0);
	json_decref(doc);
}

static void test_status_page_handle(void **state)
{
	(void)state;
	json_t *status = json_pack("{s:i, s:[]}", "clients", 3, "workers");
	static const struct {
		const char *request;
		int status;
		const char *type;
		const char *body_start;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 200, "text/html; charset=utf-8", "<!DOCTYPE html>" },
		{ "GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n", 200, "text/html; charset=utf-8",
		  "<!DOCTYPE html>" },
		{ "GET /api/status HTTP/1.1\r\nHost: h\r\n\r\n", 200, "application/json", "{" },
		{ "GET /api/statusx HTTP/1.1\r\nHost: h\r\n\r\n", 404, NULL, "404" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_parser p;
		http_parser_init(&p);
		const struct http_request *req = parse_one(&p, cases[i].request);
		struct http_response res = { .status = 200 };
		status_page_handle(req, &res, status);
		assert_int_equal(res.status, cases[i].status);
		if (cases[i].type)
			assert_string_equal(res.content_type, cases[i].type);
		assert_true(strncmp(res.body.data, cases[i].body_start,
				    strlen(cases[i].body_start)) == 0);
		assert_string_equal(res.headers.data, "Cache-Control: no-store\r\n");
		if (i == 2) {
			json_error_t jerr;
			json_t *back = json_loads(res.body.data, 0, &jerr);
			assert_non_null(back);
			assert_true(json_equal(back, status));
			json_decref(back);
		}
		buf_release(&res.body);
		buf_release(&res.headers);
		http_parser_release(&p);
	}
	json_decref(status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_escape),
		cmocka_unit_test(test_status_page_content),
		cmocka_unit_test(test_status_page_missing_data),
		cmocka_unit_test(test_status_page_sizes),
		cmocka_unit_test(test_status_page_handle),
		cmocka_unit_test(test_status_page_readers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
