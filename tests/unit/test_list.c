#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/list.h"

struct node {
	char name;
	struct node *prev, *next;
};

/* The names along next, checked against the names along prev. */
static void expect(struct node *head, struct node *tail, const char *want)
{
	char fwd[16] = "", back[16] = "";
	size_t n = 0;
	struct node *last = NULL;
	for (struct node *x = head; x && n < 15; x = x->next) {
		assert_ptr_equal(x->prev, last);
		fwd[n++] = x->name;
		last = x;
	}
	assert_string_equal(fwd, want);
	if (tail) {
		assert_ptr_equal(tail, last);
		n = strlen(want);
		back[n] = '\0';
		for (struct node *x = tail; x; x = x->prev)
			back[--n] = x->name;
		assert_string_equal(back, want);
	}
}

static void test_append_unlink(void **state)
{
	(void)state;
	struct node a = {.name = 'a'}, b = {.name = 'b'}, c = {.name = 'c'};
	struct node *head = NULL, *tail = NULL;
	DLIST_APPEND(head, tail, &a);
	expect(head, tail, "a");
	DLIST_APPEND(head, tail, &b);
	DLIST_APPEND(head, tail, &c);
	expect(head, tail, "abc");
	struct node *x = &b;
	DLIST_UNLINK(head, tail, x);      /* middle */
	assert_null(b.prev);
	assert_null(b.next);
	expect(head, tail, "ac");
	x = &c;
	DLIST_UNLINK(head, tail, x);      /* tail */
	expect(head, tail, "a");
	DLIST_APPEND(head, tail, &b);
	x = &a;
	DLIST_UNLINK(head, tail, x);      /* head */
	expect(head, tail, "b");
	x = &b;
	DLIST_UNLINK(head, tail, x);      /* the last one */
	assert_null(head);
	assert_null(tail);
}

static void test_push_remove(void **state)
{
	(void)state;
	struct node a = {.name = 'a'}, b = {.name = 'b'}, c = {.name = 'c'};
	struct node *head = NULL;
	DLIST_PUSH(head, &a);
	DLIST_PUSH(head, &b);
	DLIST_PUSH(head, &c);
	expect(head, NULL, "cba");
	struct node *x = &b;
	DLIST_REMOVE(head, x);
	assert_null(b.prev);
	assert_null(b.next);
	expect(head, NULL, "ca");
	x = &c;
	DLIST_REMOVE(head, x);
	expect(head, NULL, "a");
	x = &a;
	DLIST_REMOVE(head, x);
	assert_null(head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_unlink),
		cmocka_unit_test(test_push_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
