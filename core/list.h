/*
 * list: intrusive doubly-linked lists of any struct with `prev` and `next`
 * pointers to its own type. The list itself is a head pointer, and
 * optionally a tail pointer for appending in O(1); both are NULL when the
 * list is empty.
 *
 *     struct job { ...; struct job *prev, *next; };
 *     struct job *jobs = NULL, *jobs_tail = NULL;
 *
 *     DLIST_APPEND(jobs, jobs_tail, j);     // at the end, in order
 *     for (struct job *j = jobs; j; j = j->next) ...
 *     DLIST_UNLINK(jobs, jobs_tail, j);     // from anywhere, O(1)
 *
 * Lists kept without a tail pointer use DLIST_PUSH and DLIST_REMOVE
 * instead; never mix the two forms on one list.
 *
 * The list never owns its nodes: unlinking frees nothing. A node is on at
 * most one list through a given prev/next pair. Unlinking leaves the
 * node's prev and next NULL. These are macros (to work on any node type):
 * the arguments are evaluated more than once, so pass plain variables or
 * member accesses without side effects.
 */
#ifndef CORE_LIST_H
#define CORE_LIST_H

#include <stddef.h>

/* Adds node at the end of the list (head, tail). */
#define DLIST_APPEND(head, tail, node)              \
	do {                                        \
		(node)->next = NULL;                \
		(node)->prev = (tail);              \
		if (tail)                           \
			(tail)->next = (node);      \
		else                                \
			(head) = (node);            \
		(tail) = (node);                    \
	} while (0)

/* Takes node, which must be on the list (head, tail), off it. */
#define DLIST_UNLINK(head, tail, node)                     \
	do {                                               \
		if ((node)->prev)                          \
			(node)->prev->next = (node)->next; \
		else                                       \
			(head) = (node)->next;             \
		if ((node)->next)                          \
			(node)->next->prev = (node)->prev; \
		else                                       \
			(tail) = (node)->prev;             \
		(node)->prev = (node)->next = NULL;        \
	} while (0)

/* Adds node at the front of the tail-less list head. */
#define DLIST_PUSH(head, node)                      \
	do {                                        \
		(node)->prev = NULL;                \
		(node)->next = (head);              \
		if (head)                           \
			(head)->prev = (node);      \
		(head) = (node);                    \
	} while (0)

/* Takes node, which must be on the tail-less list head, off it. */
#define DLIST_REMOVE(head, node)                                    \
	do {                                                        \
		__typeof__(node) dlist_no_tail_ = NULL;             \
		DLIST_UNLINK(head, dlist_no_tail_, node);           \
		(void)dlist_no_tail_;                               \
	} while (0)

#endif
