/*
 * sdk/conform/elf_exports.c: which symbols a plugin exports, read from its
 * ELF dynamic symbol table.
 *
 * Read directly rather than through nm: the runner must work where binutils
 * is not installed, and a malformed file must give a finding, not a failed
 * pipeline. Every offset and size from the file is checked against the
 * file's length before use.
 */
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sdk/conform/conform.h"

/* Is [off, off+len) inside a file of `size` bytes? */
static int in_file(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int scan(const unsigned char *base, uint64_t size, char ***names, size_t *count, char *err,
		size_t errlen)
{
	const Elf64_Ehdr *eh = (const void *)base;
	const Elf64_Shdr *sh, *dynsym = NULL, *strtab;
	char **list;
	size_t n = 0;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != (BYTE_ORDER == LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB)) {
		snprintf(err, errlen, "not a 64-bit ELF file of this machine's byte order");
		return -ENOEXEC;
	}
	if (eh->e_type != ET_DYN) {
		snprintf(err, errlen, "not a shared object (ELF type %u)", eh->e_type);
		return -ENOEXEC;
	}
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % 8 ||
	    !in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), size)) {
		snprintf(err, errlen, "malformed section header table");
		return -ENOEXEC;
	}
	sh = (const void *)(base + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			dynsym = &sh[i];
	if (!dynsym) {
		snprintf(err, errlen, "no dynamic symbol table (.dynsym)");
		return -ENOENT;
	}
	if (dynsym->sh_link >= eh->e_shnum || dynsym->sh_entsize != sizeof(Elf64_Sym) ||
	    dynsym->sh_offset % 8 || !in_file(dynsym->sh_offset, dynsym->sh_size, size)) {
		snprintf(err, errlen, "malformed .dynsym section");
		return -ENOEXEC;
	}
	strtab = &sh[dynsym->sh_link];
	if (strtab->sh_type != SHT_STRTAB || !in_file(strtab->sh_offset, strtab->sh_size, size)) {
		snprintf(err, errlen, "malformed string table of .dynsym");
		return -ENOEXEC;
	}

	const Elf64_Sym *sym = (const void *)(base + dynsym->sh_offset);
	size_t nsyms = dynsym->sh_size / sizeof(Elf64_Sym);
	const char *str = (const char *)(base + strtab->sh_offset);

	list = calloc(nsyms ? nsyms : 1, sizeof(*list));
	if (!list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 1; i < nsyms; i++) { /* entry 0 is the null symbol */
		unsigned bind = ELF64_ST_BIND(sym[i].st_info);
		unsigned type = ELF64_ST_TYPE(sym[i].st_info);

		if (sym[i].st_shndx == SHN_UNDEF || type == STT_SECTION || type == STT_FILE)
			continue;
		if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
			continue;
		if (sym[i].st_name >= strtab->sh_size ||
		    !memchr(str + sym[i].st_name, '\0', strtab->sh_size - sym[i].st_name)) {
			snprintf(err, errlen, "a .dynsym name lies outside its string table");
			conform_elf_exports_free(list, n);
			return -ENOEXEC;
		}
		list[n] = strdup(str + sym[i].st_name);
		if (!list[n]) {
			conform_elf_exports_free(list, n);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		n++;
	}
	*names = list;
	*count = n;
	return 0;
}

int conform_elf_exports(const char *path, char ***names, size_t *count, char *err, size_t errlen)
{
	struct stat st;
	void *map;
	int fd, rc;

	*names = NULL;
	*count = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return rc == -ENOENT ? -EIO : rc;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		snprintf(err, errlen, "%s is empty or unreadable", path);
		close(fd);
		return -EIO;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return -EIO;
	}
	rc = scan(map, (uint64_t)st.st_size, names, count, err, errlen);
	munmap(map, (size_t)st.st_size);
	return rc;
}

void conform_elf_exports_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
