/* ldd_elf: ELF dynamic information and the glibc loader cache (see ldd_elf.h). */
#include "artifacts/ldd_elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/err.h"
#include "core/xalloc.h"

/* Upper bounds on what we read, far above real files. */
#define MAX_PHNUM 4096
#define MAX_DYNAMIC (1u << 20)
#define MAX_STRTAB (64u << 20)
#define MAX_INTERP 4096
#define MAX_CACHE (64u << 20)

struct elf_file {
	const char *path;
	int fd;
	uint64_t size;
	Elf64_Phdr *phdrs;
	size_t phnum;
};

/* Reads exactly len bytes at off, or fails with a message. */
static int read_at(const struct elf_file *f, void *buf, uint64_t len, uint64_t off,
		   const char *what, struct err **err)
{
	if (off > f->size || len > f->size - off)
		return err_set(err, 0, "%s: truncated ELF file (%s lies beyond its end)",
			       f->path, what);
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return err_set(err, errno, "%s: cannot read %s", f->path, what);
		}
		if (r == 0)
			return err_set(err, 0, "%s: truncated ELF file (short read of %s)",
				       f->path, what);
		done += (size_t)r;
	}
	return 0;
}

static enum elf_dyn_result check_header(const struct elf_file *f, const Elf64_Ehdr *eh,
					struct err **err)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		err_set(err, 0, "%s: not an ELF file", f->path);
		return ELF_DYN_WRONG_ARCH;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		err_set(err, 0,
			"%s: not a 64-bit little-endian x86-64 ELF file; only x86-64 "
			"binaries are supported",
			f->path);
		return ELF_DYN_WRONG_ARCH;
	}
	if (eh->e_phnum > 0 && eh->e_phentsize != sizeof(Elf64_Phdr)) {
		err_set(err, 0, "%s: corrupt ELF file (program header size %u)", f->path,
			eh->e_phentsize);
		return ELF_DYN_ERROR;
	}
	if (eh->e_phnum >= MAX_PHNUM) {
		err_set(err, 0, "%s: corrupt ELF file (%u program headers)", f->path,
			eh->e_phnum);
		return ELF_DYN_ERROR;
	}
	return ELF_DYN_OK;
}

/* File offset of virtual address addr, via the PT_LOAD segments. */
static int vaddr_to_offset(const struct elf_file *f, uint64_t addr, uint64_t *off)
{
	for (size_t i = 0; i < f->phnum; i++) {
		const Elf64_Phdr *p = &f->phdrs[i];
		if (p->p_type == PT_LOAD && addr >= p->p_vaddr && addr - p->p_vaddr < p->p_filesz) {
			*off = addr - p->p_vaddr + p->p_offset;
			return 0;
		}
	}
	return -1;
}

static char *strtab_get(const char *tab, uint64_t size, uint64_t off)
{
	if (off >= size || !memchr(tab + off, '\0', size - off))
		return NULL;
	char *s = strdup(tab + off);
	if (!s)
		abort();
	return s;
}

struct dyn_offsets {
	uint64_t strtab, strsz;
	bool have_strtab, have_strsz;
	uint64_t soname, rpath, runpath;
	bool have_soname, have_rpath, have_runpath;
	uint64_t *needed;
	size_t n_needed;
};

static int scan_dynamic(const struct elf_file *f, const Elf64_Phdr *dynph,
			struct dyn_offsets *o, struct elf_dyn *out, struct err **err)
{
	uint64_t len = dynph->p_filesz;
	if (len > MAX_DYNAMIC)
		return err_set(err, 0, "%s: corrupt ELF file (dynamic section of %llu bytes)",
			       f->path, (unsigned long long)len);
	size_t count = len / sizeof(Elf64_Dyn);
	_cleanup_free_ Elf64_Dyn *dyn = xcalloc(count, sizeof(Elf64_Dyn));
	if (read_at(f, dyn, count * sizeof(Elf64_Dyn), dynph->p_offset, "dynamic section",
		    err) < 0)
		return -1;
	o->needed = xcalloc(count, sizeof(uint64_t));
	for (size_t i = 0; i < count && dyn[i].d_tag != DT_NULL; i++) {
		uint64_t v = dyn[i].d_un.d_val;
		switch (dyn[i].d_tag) {
		case DT_NEEDED:
			o->needed[o->n_needed++] = v;
			break;
		case DT_STRTAB:
			o->strtab = v;
			o->have_strtab = true;
			break;
		case DT_STRSZ:
			o->strsz = v;
			o->have_strsz = true;
			break;
		case DT_SONAME:
			o->soname = v;
			o->have_soname = true;
			break;
		case DT_RPATH:
			o->rpath = v;
			o->have_rpath = true;
			break;
		case DT_RUNPATH:
			o->runpath = v;
			o->have_runpath = true;
			break;
		case DT_FLAGS_1:
			out->nodeflib = (v & DF_1_NODEFLIB) != 0;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int read_dynamic(const struct elf_file *f, const Elf64_Phdr *dynph,
			struct elf_dyn *out, struct err **err)
{
	struct dyn_offsets o = { 0 };
	int ret = -1;
	_cleanup_free_ char *tab = NULL;
	uint64_t tab_off;

	if (scan_dynamic(f, dynph, &o, out, err) < 0)
		goto out;
	bool any = o.n_needed || o.have_soname || o.have_rpath || o.have_runpath;
	if (!any) {
		ret = 0;
		goto out;
	}
	if (!o.have_strtab || !o.have_strsz || o.strsz > MAX_STRTAB ||
	    vaddr_to_offset(f, o.strtab, &tab_off) < 0) {
		err_set(err, 0, "%s: corrupt ELF file (no usable dynamic string table)", f->path);
		goto out;
	}
	tab = xcalloc(1, o.strsz + 1);
	if (read_at(f, tab, o.strsz, tab_off, "dynamic string table", err) < 0)
		goto out;
	out->needed = xcalloc(o.n_needed, sizeof(char *));
	for (size_t i = 0; i < o.n_needed; i++) {
		out->needed[i] = strtab_get(tab, o.strsz, o.needed[i]);
		if (!out->needed[i]) {
			err_set(err, 0, "%s: corrupt ELF file (DT_NEEDED out of range)", f->path);
			goto out;
		}
		out->n_needed++;
	}
	if (o.have_soname)
		out->soname = strtab_get(tab, o.strsz, o.soname);
	if (o.have_runpath)
		out->runpath = strtab_get(tab, o.strsz, o.runpath);
	else if (o.have_rpath)
		out->rpath = strtab_get(tab, o.strsz, o.rpath);
	ret = 0;
out:
	free(o.needed);
	return ret;
}

static int read_interp(const struct elf_file *f, const Elf64_Phdr *p, struct elf_dyn *out,
		       struct err **err)
{
	if (p->p_filesz == 0 || p->p_filesz > MAX_INTERP)
		return err_set(err, 0, "%s: corrupt ELF file (PT_INTERP of %llu bytes)", f->path,
			       (unsigned long long)p->p_filesz);
	char *s = xcalloc(1, p->p_filesz + 1);
	if (read_at(f, s, p->p_filesz, p->p_offset, "PT_INTERP", err) < 0) {
		free(s);
		return -1;
	}
	out->interp = s;
	return 0;
}

enum elf_dyn_result elf_dyn_read(const char *path, struct elf_dyn *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct elf_file f = { .path = path, .fd = -1 };
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s", path);
	f.fd = fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return err_set(err, 0, "%s: not a regular file", path);
	f.size = (uint64_t)st.st_size;

	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	uint64_t head = f.size < sizeof(eh) ? f.size : sizeof(eh);
	if (read_at(&f, &eh, head, 0, "ELF header", err) < 0)
		return ELF_DYN_ERROR;
	if (head < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		err_set(err, 0, "%s: not an ELF file", path);
		return ELF_DYN_WRONG_ARCH;
	}
	if (head < sizeof(eh)) {
		err_set(err, 0, "%s: truncated ELF file (no complete ELF header)", path);
		return ELF_DYN_WRONG_ARCH;
	}
	enum elf_dyn_result r = check_header(&f, &eh, err);
	if (r != ELF_DYN_OK)
		return r;

	f.phnum = eh.e_phnum;
	_cleanup_free_ Elf64_Phdr *phdrs = xcalloc(f.phnum, sizeof(Elf64_Phdr));
	f.phdrs = phdrs;
	if (read_at(&f, phdrs, f.phnum * sizeof(Elf64_Phdr), eh.e_phoff, "program headers",
		    err) < 0)
		return ELF_DYN_ERROR;
	bool seen_dynamic = false;
	for (size_t i = 0; i < f.phnum; i++) {
		int rc = 0;
		if (phdrs[i].p_type == PT_INTERP && !out->interp) {
			rc = read_interp(&f, &phdrs[i], out, err);
		} else if (phdrs[i].p_type == PT_DYNAMIC && !seen_dynamic) {
			seen_dynamic = true;
			rc = read_dynamic(&f, &phdrs[i], out, err);
		}
		if (rc < 0) {
			elf_dyn_release(out);
			return ELF_DYN_ERROR;
		}
	}
	return ELF_DYN_OK;
}

void elf_dyn_release(struct elf_dyn *d)
{
	free(d->interp);
	free(d->soname);
	for (size_t i = 0; i < d->n_needed; i++)
		free(d->needed[i]);
	free(d->needed);
	free(d->rpath);
	free(d->runpath);
	memset(d, 0, sizeof(*d));
}

/* ---- /etc/ld.so.cache ---------------------------------------------------- */

#define CACHE_OLD_MAGIC "ld.so-1.7.0"
#define CACHE_NEW_MAGIC "glibc-ld.so.cache1.1"
#define CACHE_NEW_HEADER 48   /* magic 17, version 3, nlibs, len_strings, flags 4, ext, 3 unused */
#define CACHE_NEW_ENTRY 24    /* flags, key, value, osversion, hwcap (u64) */
#define CACHE_OLD_ENTRY 12
#define CACHE_FLAG_X8664_LIBC6 0x0303

struct ld_cache {
	char *data;
	size_t size;
	size_t base;      /* offset of the new-format header; strings are relative to it */
	uint32_t nlibs;
};

static uint32_t le32(const char *p)
{
	const uint8_t *u = (const uint8_t *)p;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t le64(const char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static char *slurp(const char *path, size_t *size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > MAX_CACHE)
		return NULL;
	char *buf = xcalloc(1, (size_t)st.st_size + 1);
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + done, (size_t)st.st_size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	*size = done;
	return buf;
}

struct ld_cache *ld_cache_load(const char *path)
{
	struct ld_cache *c = xcalloc(1, sizeof(*c));
	size_t size = 0;
	char *data = path ? slurp(path, &size) : NULL;
	if (!data)
		return c;
	size_t base = 0;
	if (size >= 16 && memcmp(data, CACHE_OLD_MAGIC, strlen(CACHE_OLD_MAGIC)) == 0) {
		/* Old format first: magic[11] (padded to 12), nlibs, entries. */
		uint64_t n_old = le32(data + 12);
		base = 16 + n_old * CACHE_OLD_ENTRY;
	}
	if (base > size || size - base < CACHE_NEW_HEADER ||
	    memcmp(data + base, CACHE_NEW_MAGIC, strlen(CACHE_NEW_MAGIC)) != 0) {
		free(data);
		return c;
	}
	uint32_t nlibs = le32(data + base + 20);
	if ((uint64_t)nlibs * CACHE_NEW_ENTRY > size - base - CACHE_NEW_HEADER) {
		free(data);
		return c;
	}
	c->data = data;
	c->size = size;
	c->base = base;
	c->nlibs = nlibs;
	return c;
}

void ld_cache_free(struct ld_cache *c)
{
	if (!c)
		return;
	free(c->data);
	free(c);
}

static const char *cache_string(const struct ld_cache *c, uint32_t off)
{
	size_t at = c->base + off;
	if (at >= c->size || !memchr(c->data + at, '\0', c->size - at))
		return NULL;
	return c->data + at;
}

const char *ld_cache_lookup(const struct ld_cache *c, const char *name)
{
	for (uint32_t i = 0; i < c->nlibs; i++) {
		const char *e = c->data + c->base + CACHE_NEW_HEADER + (size_t)i * CACHE_NEW_ENTRY;
		int32_t flags = (int32_t)le32(e);
		uint64_t hwcap = le64(e + 16);
		if (flags != CACHE_FLAG_X8664_LIBC6 || hwcap != 0)
			continue;
		const char *key = cache_string(c, le32(e + 4));
		if (!key || strcmp(key, name) != 0)
			continue;
		const char *value = cache_string(c, le32(e + 8));
		if (value && value[0] == '/')
			return value;
	}
	return NULL;
}
