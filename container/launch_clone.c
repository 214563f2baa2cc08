/*
 * launch_clone: the clone3 trampoline and the private child stacks. See
 * container/launch_clone.h.
 */
#include "container/launch_clone.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#if defined(__x86_64__)
/* rdi = args, rsi = size, rdx = fn, rcx = arg. */
__asm__(".text\n"
        ".globl launch_clone3_run\n"
        ".hidden launch_clone3_run\n"
        ".p2align 4\n"
        ".type launch_clone3_run,@function\n"
        "launch_clone3_run:\n"
        "\tmov %rdx, %r8\n"          /* fn: r8/r9 survive the syscall */
        "\tmov %rcx, %r9\n"          /* arg */
        "\tmov $435, %eax\n"         /* __NR_clone3 */
        "\tsyscall\n"
        "\ttest %rax, %rax\n"
        "\tjz 1f\n"
        "\tret\n"                    /* parent: pid, or -errno */
        "1:\txor %ebp, %ebp\n"       /* child: no frame above this one */
        "\tand $-16, %rsp\n"
        "\tmov %r9, %rdi\n"
        "\tcall *%r8\n"
        "\tmov %eax, %edi\n"
        "\tmov $231, %eax\n"         /* exit_group */
        "\tsyscall\n"
        "\thlt\n"
        ".size launch_clone3_run, .-launch_clone3_run\n");
#endif

void *launch_child_stack(unsigned which)
{
	static _Thread_local char *stacks[LAUNCH_STACKS];
	if (which >= LAUNCH_STACKS) {
		errno = EINVAL;
		return NULL;
	}
	if (!stacks[which]) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		char *p = mmap(NULL, LAUNCH_STACK_SIZE + page, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (mprotect(p, page, PROT_NONE) < 0) {
			int saved = errno;
			munmap(p, LAUNCH_STACK_SIZE + page);
			errno = saved;
			return NULL;
		}
		stacks[which] = p + page;
	}
#if defined(__SANITIZE_ADDRESS__)
	__asan_unpoison_memory_region(stacks[which], LAUNCH_STACK_SIZE);
#endif
	return stacks[which];
}
