/* Unit tests for artifacts/ldd: closure vs ldd(1), synthetic ELF files for
 * RPATH/RUNPATH/$ORIGIN, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/ldd.h"
#include "core/err.h"

static char tmpdir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_ldd.XXXXXX", base);
	if (!mkdtemp(tmpdir))
		return -1;
	/* $ORIGIN of a program is its real directory. */
	char real[PATH_MAX];
	if (!realpath(tmpdir, real))
		return -1;
	strcpy(tmpdir, real);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *tpath(const char *rel)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
	return p;
}

/* tpath into a static buffer, for one-off use. */
static const char *tpath_static(const char *rel)
{
	static char buf[2 * PATH_MAX];
	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, rel);
	return buf;
}

static void mkdirs(const char *rel)
{
	char cmd[2 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", tmpdir, rel);
	assert_int_equal(system(cmd), 0);
}

/* ---- a tiny ELF writer ------------------------------------------------- */

struct fake_elf {
	const char *interp;
	const char *soname;
	const char *needed[4];
	const char *runpath;
	const char *rpath;
	bool wrong_class;   /* write an ELFCLASS32 header */
	bool bad_needed;    /* a DT_NEEDED offset outside the string table */
	bool no_dynamic;    /* static: no PT_DYNAMIC */
};

static void write_elf(const char *rel, const struct fake_elf *f)
{
	char strtab[1024] = { 0 };
	size_t strsz = 1;
	uint64_t off_needed[4] = { 0 }, off_soname = 0, off_runpath = 0, off_rpath = 0;
#define ADDSTR(s, off)                                      \
	do {                                                \
		off = strsz;                                \
		strcpy(strtab + strsz, s);                  \
		strsz += strlen(s) + 1;                     \
	} while (0)
	size_t n_needed = 0;
	for (; n_needed < 4 && f->needed[n_needed]; n_needed++)
		ADDSTR(f->needed[n_needed], off_needed[n_needed]);
	if (f->soname)
		ADDSTR(f->soname, off_soname);
	if (f->runpath)
		ADDSTR(f->runpath, off_runpath);
	if (f->rpath)
		ADDSTR(f->rpath, off_rpath);

	Elf64_Dyn dyn[12];
	size_t nd = 0;
	for (size_t i = 0; i < n_needed; i++)
		dyn[nd++] = (Elf64_Dyn){ DT_NEEDED, { f->bad_needed ? 5000 : off_needed[i] } };
	if (f->soname)
		dyn[nd++] = (Elf64_Dyn){ DT_SONAME, { off_soname } };
	if (f->runpath)
		dyn[nd++] = (Elf64_Dyn){ DT_RUNPATH, { off_runpath } };
	if (f->rpath)
		dyn[nd++] = (Elf64_Dyn){ DT_RPATH, { off_rpath } };
	size_t strtab_at_index = nd;
	dyn[nd++] = (Elf64_Dyn){ DT_STRTAB, { 0 } };
	dyn[nd++] = (Elf64_Dyn){ DT_STRSZ, { strsz } };
	dyn[nd++] = (Elf64_Dyn){ DT_NULL, { 0 } };

	size_t n_ph = 2 + (f->interp != NULL) - f->no_dynamic;
	size_t ph_at = sizeof(Elf64_Ehdr);
	size_t interp_at = ph_at + n_ph * sizeof(Elf64_Phdr);
	size_t interp_len = f->interp ? strlen(f->interp) + 1 : 0;
	size_t dyn_at = (interp_at + interp_len + 7) & ~(size_t)7;
	size_t str_at = dyn_at + nd * sizeof(Elf64_Dyn);
	size_t total = str_at + strsz;
	dyn[strtab_at_index].d_un.d_ptr = str_at;

	char *buf = calloc(1, total);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = f->wrong_class ? ELFCLASS32 : ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = ph_at;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)n_ph;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + ph_at);
	size_t k = 0;
	ph[k++] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0,
				.p_filesz = total, .p_memsz = total };
	if (f->interp) {
		ph[k++] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_offset = interp_at,
					.p_vaddr = interp_at, .p_filesz = interp_len };
		memcpy(buf + interp_at, f->interp, interp_len);
	}
	if (!f->no_dynamic)
		ph[k++] = (Elf64_Phdr){ .p_type = PT_DYNAMIC, .p_offset = dyn_at,
					.p_vaddr = dyn_at, .p_filesz = nd * sizeof(Elf64_Dyn) };
	memcpy(buf + dyn_at, dyn, nd * sizeof(Elf64_Dyn));
	memcpy(buf + str_at, strtab, strsz);

	char *path = tpath(rel);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, total, fp), total);
	fclose(fp);
	free(path);
	free(buf);
#undef ADDSTR
}

/* ---- helpers ------------------------------------------------------------- */

static bool list_has(char **libs, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(libs[i], path) == 0)
			return true;
	return false;
}

static int closure_of(const char *rel, char ***libs, size_t *n, struct err **err)
{
	char *p = strchr(rel, '/') == rel ? strdup(rel) : tpath(rel);
	const char *bins[] = { p };
	int r = ldd_closure(bins, 1, libs, n, err);
	free(p);
	return r;
}

/* The libraries ldd(1) prints for binary, one per line in a list. */
static size_t system_ldd(const char *binary, char ***out)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "ldd '%s' 2>/dev/null", binary);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[4096];
	size_t n = 0;
	char **v = NULL;
	while (fgets(line, sizeof(line), p)) {
		char name[2048], path[2048];
		const char *lib = NULL;
		if (sscanf(line, " %2047s => %2047s", name, path) == 2 && path[0] == '/')
			lib = path;
		else if (sscanf(line, " %2047s", name) == 1 && name[0] == '/')
			lib = name;
		if (!lib)
			continue; /* linux-vdso.so.1 */
		v = realloc(v, (n + 1) * sizeof(char *));
		v[n++] = strdup(lib);
	}
	assert_int_equal(pclose(p), 0);
	*out = v;
	return n;
}

static void compare_with_ldd(const char *binary)
{
	char **mine, **theirs;
	size_t n_mine;
	struct err *err = NULL;
	const char *bins[] = { binary };
	int r = ldd_closure(bins, 1, &mine, &n_mine, &err);
	if (r < 0)
		fail_msg("ldd_closure(%s): %s", binary, err_msg(err));
	size_t n_theirs = system_ldd(binary, &theirs);
	assert_true(n_theirs > 0);
	for (size_t i = 0; i < n_theirs; i++)
		if (!list_has(mine, n_mine, theirs[i]))
			fail_msg("%s: ldd(1) lists %s, ldd_closure does not", binary, theirs[i]);
	for (size_t i = 0; i < n_mine; i++)
		if (!list_has(theirs, n_theirs, mine[i]))
			fail_msg("%s: ldd_closure lists %s, ldd(1) does not", binary, mine[i]);
	assert_int_equal(n_mine, n_theirs);
	ldd_free(mine, n_mine);
	ldd_free(theirs, n_theirs);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_matches_system_ldd(void **state)
{
	(void)state;
	compare_with_ldd("/bin/sh");
	compare_with_ldd("/usr/bin/id");
}

static void test_interp_first_and_deduplicated(void **state)
{
	(void)state;
	/* A program using the real loader and libc, twice (deduplicated). */
	write_elf("prog", &(struct fake_elf){ .interp = "/lib64/ld-linux-x86-64.so.2",
					      .needed = { "libc.so.6" } });
	char *prog = tpath("prog");
	const char *bins[] = { prog, prog, "/bin/sh" };
	char **libs;
	size_t n;
	struct err *err = NULL;
	assert_int_equal(ldd_closure(bins, 3, &libs, &n, &err), 0);
	/* libc needs ld-linux-x86-64.so.2 by soname: it is the interpreter. */
	assert_int_equal(n, 2);
	assert_string_equal(libs[0], "/lib64/ld-linux-x86-64.so.2");
	assert_string_equal(libs[1], "/lib/x86_64-linux-gnu/libc.so.6");
	ldd_free(libs, n);
	free(prog);
}

static void test_static_binary_is_empty(void **state)
{
	(void)state;
	write_elf("static", &(struct fake_elf){ .no_dynamic = true });
	char **libs = (char **)1;
	size_t n = 99;
	struct err *err = NULL;
	assert_int_equal(closure_of("static", &libs, &n, &err), 0);
	assert_int_equal(n, 0);
	ldd_free(libs, n);
}

static void test_runpath_origin(void **state)
{
	(void)state;
	mkdirs("o/bin");
	mkdirs("o/lib");
	mkdirs("o/lib32");
	write_elf("o/bin/prog", &(struct fake_elf){ .needed = { "libh5a.so.1" },
						    .runpath = "$ORIGIN/../lib32:${ORIGIN}/../lib" });
	write_elf("o/lib/libh5a.so.1", &(struct fake_elf){ .soname = "libh5a.so.1",
							   .needed = { "libh5b.so" },
							   .runpath = "$ORIGIN" });
	write_elf("o/lib/libh5b.so", &(struct fake_elf){ .soname = "libh5b.so" });
	/* A 32-bit copy earlier in the path is skipped, as the loader does. */
	write_elf("o/lib32/libh5a.so.1", &(struct fake_elf){ .wrong_class = true });
	char **libs;
	size_t n;
	struct err *err = NULL;
	if (closure_of("o/bin/prog", &libs, &n, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(n, 2);
	char *a = tpath("o/bin/../lib/libh5a.so.1");
	char *b = tpath("o/bin/../lib/libh5b.so"); /* $ORIGIN of libh5a, unnormalised */
	assert_string_equal(libs[0], a);
	assert_string_equal(libs[1], b);
	free(a);
	free(b);
	ldd_free(libs, n);
}

static void test_rpath_inherited_unless_runpath(void **state)
{
	(void)state;
	mkdirs("r/lib");
	write_elf("r/prog", &(struct fake_elf){ .needed = { "libh5c.so" }, .rpath = "$ORIGIN/lib" });
	write_elf("r/lib/libh5c.so", &(struct fake_elf){ .needed = { "libh5d.so" } });
	write_elf("r/lib/libh5d.so", &(struct fake_elf){ .soname = "libh5d.so" });
	char **libs;
	size_t n;
	struct err *err = NULL;
	/* libh5c has no RPATH/RUNPATH: the program's RPATH finds libh5d. */
	if (closure_of("r/prog", &libs, &n, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(n, 2);
	ldd_free(libs, n);

	/* With a RUNPATH of its own, libh5c no longer sees the program's RPATH. */
	write_elf("r/lib/libh5c.so", &(struct fake_elf){ .needed = { "libh5d.so" },
							 .runpath = "/nonexistent" });
	assert_int_equal(closure_of("r/prog", &libs, &n, &err), -1);
	assert_non_null(strstr(err_msg(err), "libh5d.so"));
	assert_non_null(strstr(err_msg(err), "via "));
	err_free(&err);

	/* And a program with RUNPATH ignores its RPATH. */
	write_elf("r/prog2", &(struct fake_elf){ .needed = { "libh5d.so" }, .rpath = "$ORIGIN/lib",
						 .runpath = "/nonexistent" });
	assert_int_equal(closure_of("r/prog2", &libs, &n, &err), -1);
	err_free(&err);
}

static void test_missing_library_names_binary_and_library(void **state)
{
	(void)state;
	write_elf("needs-missing", &(struct fake_elf){ .needed = { "libnot-there-h5.so.7" } });
	char **libs;
	size_t n;
	struct err *err = NULL;
	assert_int_equal(closure_of("needs-missing", &libs, &n, &err), -1);
	char *bin = tpath("needs-missing");
	assert_non_null(strstr(err_msg(err), bin));
	assert_non_null(strstr(err_msg(err), "libnot-there-h5.so.7"));
	free(bin);
	err_free(&err);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	char **libs;
	size_t n;
	struct err *err = NULL;

	write_elf("elf32", &(struct fake_elf){ .wrong_class = true });
	assert_int_equal(closure_of("elf32", &libs, &n, &err), -1);
	assert_non_null(strstr(err_msg(err), "x86-64"));
	err_free(&err);

	FILE *fp = fopen(tpath_static("text"), "w");
	assert_non_null(fp);
	fputs("#!/bin/sh\necho hello\n", fp);
	fclose(fp);
	assert_int_equal(closure_of("text", &libs, &n, &err), -1);
	assert_non_null(strstr(err_msg(err), "not an ELF file"));
	err_free(&err);

	assert_int_equal(closure_of("does-not-exist", &libs, &n, &err), -1);
	assert_non_null(strstr(err_msg(err), "No such file or directory"));
	err_free(&err);

	write_elf("corrupt", &(struct fake_elf){ .needed = { "libx.so" }, .bad_needed = true });
	assert_int_equal(closure_of("corrupt", &libs, &n, &err), -1);
	assert_non_null(strstr(err_msg(err), "corrupt"));
	err_free(&err);

	/* Truncated: the first 100 bytes of a real program. */
	char cmd[2 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "head -c 100 /bin/sh > '%s/trunc'", tmpdir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(closure_of("trunc", &libs, &n, &err), -1);
	assert_non_null(strstr(err_msg(err), "truncated"));
	err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_system_ldd),
		cmocka_unit_test(test_interp_first_and_deduplicated),
		cmocka_unit_test(test_static_binary_is_empty),
		cmocka_unit_test(test_runpath_origin),
		cmocka_unit_test(test_rpath_inherited_unless_runpath),
		cmocka_unit_test(test_missing_library_names_binary_and_library),
		cmocka_unit_test(test_bad_inputs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
