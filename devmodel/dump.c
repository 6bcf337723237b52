/*
 * devmodel/dump.c: the ELF core of a guest (dump.h says what and when).
 */
#include "devmodel/dump.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devmodel/backend.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_mem.h"
#include "devmodel/log.h"
#include "devmodel/vm.h"

#define DUMP_MAX_VCPUS 128
#define DUMP_CHUNK     (1u << 20)

struct dump_out {
	FILE *f;
	bool pipe;
	char path[4096];
	int err; /* the first write error, as errno */
};

static void dump_put(struct dump_out *o, const void *p, size_t n)
{
	if (!o->err && n && fwrite(p, 1, n, o->f) != n)
		o->err = errno ? errno : EIO;
}

/* DIR/<system>-YYYYMMDD-hhmmss[-N].gcore, created exclusively. */
static int dump_open_file(struct vm *vm, const char *dir, struct dump_out *o)
{
	const char *system = vm_conf(vm)->system ? vm_conf(vm)->system : "qvm-guest";
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (unsigned n = 0; n <= 9; n++) {
		int fd;

		if (n)
			snprintf(o->path, sizeof(o->path), "%s/%s-%s-%u.gcore", dir, system, stamp,
				 n);
		else
			snprintf(o->path, sizeof(o->path), "%s/%s-%s.gcore", dir, system, stamp);
		fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -errno;
		o->f = fdopen(fd, "w");
		if (!o->f) {
			int err = errno;

			close(fd);
			return -err;
		}
		return 0;
	}
	return -EEXIST;
}

static int dump_open(struct vm *vm, const char *spec, struct dump_out *o)
{
	memset(o, 0, sizeof(*o));
	if (spec[0] == '|') {
		snprintf(o->path, sizeof(o->path), "%s", spec);
		o->f = popen(spec + 1, "we");
		if (!o->f)
			return errno ? -errno : -ENOMEM;
		o->pipe = true;
		return 0;
	}
	return dump_open_file(vm, spec, o);
}

static void dump_note(struct dump_out *o, uint32_t type, const void *desc, size_t size)
{
	static const char name[8] = "CORE";
	Elf64_Nhdr h = {.n_namesz = 5, .n_descsz = (Elf64_Word)size, .n_type = type};
	static const char pad[8];

	dump_put(o, &h, sizeof(h));
	dump_put(o, name, 8); /* "CORE\0" padded to 4 */
	dump_put(o, desc, size);
	dump_put(o, pad, (4 - size % 4) % 4);
}

static size_t dump_note_size(size_t desc)
{
	return sizeof(Elf64_Nhdr) + 8 + (desc + 3) / 4 * 4;
}

static void dump_prstatus(struct elf_prstatus *st, unsigned index,
			  const struct backend_vcpu_regs *r)
{
	struct user_regs_struct u = {
	    .r15 = r->r15,
	    .r14 = r->r14,
	    .r13 = r->r13,
	    .r12 = r->r12,
	    .rbp = r->rbp,
	    .rbx = r->rbx,
	    .r11 = r->r11,
	    .r10 = r->r10,
	    .r9 = r->r9,
	    .r8 = r->r8,
	    .rax = r->rax,
	    .rcx = r->rcx,
	    .rdx = r->rdx,
	    .rsi = r->rsi,
	    .rdi = r->rdi,
	    .orig_rax = ~0ull,
	    .rip = r->rip,
	    .cs = r->cs,
	    .eflags = r->rflags,
	    .rsp = r->rsp,
	    .ss = r->ss,
	    .fs_base = r->fs_base,
	    .gs_base = r->gs_base,
	    .ds = r->ds,
	    .es = r->es,
	    .fs = r->fs,
	    .gs = r->gs,
	};

	memset(st, 0, sizeof(*st));
	st->pr_pid = (pid_t)index + 1; /* gdb's thread N is vCPU N - 1 */
	memcpy(&st->pr_reg, &u, sizeof(u) < sizeof(st->pr_reg) ? sizeof(u) : sizeof(st->pr_reg));
}

/* The RAM and ROM ranges, each read from guest memory in chunks. */
static void dump_memory(struct dump_out *o, struct guest_mem *gm, void *buf)
{
	for (unsigned i = 0; i < guest_mem_count(gm); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(gm, i);

		if (r->kind == GUEST_MEM_RESERVE)
			continue;
		for (uint64_t off = 0; off < r->length && !o->err; off += DUMP_CHUNK) {
			size_t n =
			    r->length - off < DUMP_CHUNK ? (size_t)(r->length - off) : DUMP_CHUNK;

			/* a page the backend cannot reach reads as zeros */
			if (guest_mem_read(gm, r->start + off, buf, n) < 0)
				memset(buf, 0, n);
			dump_put(o, buf, n);
		}
	}
}

static void dump_core(struct vm *vm, struct dump_out *o, const struct backend_vcpu_regs *regs,
		      unsigned vcpus)
{
	struct guest_mem *gm = vm_mem(vm);
	unsigned loads = 0;
	size_t notes = dump_note_size(sizeof(struct elf_prpsinfo));
	uint64_t at;
	struct elf_prpsinfo ps = {.pr_state = 'R', .pr_sname = 'R'};
	void *buf = malloc(DUMP_CHUNK);

	if (!buf) {
		o->err = ENOMEM;
		return;
	}
	for (unsigned i = 0; i < guest_mem_count(gm); i++)
		loads += guest_mem_range_at(gm, i)->kind != GUEST_MEM_RESERVE;
	for (unsigned i = 0; i < vcpus; i++)
		notes += dump_note_size(sizeof(struct elf_prstatus));

	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
			ELFOSABI_SYSV},
	    .e_type = ET_CORE,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = (Elf64_Half)(1 + loads),
	};
	dump_put(o, &eh, sizeof(eh));
	at = sizeof(eh) + (uint64_t)(1 + loads) * sizeof(Elf64_Phdr);
	Elf64_Phdr note = {.p_type = PT_NOTE, .p_offset = at, .p_filesz = notes, .p_align = 4};
	dump_put(o, &note, sizeof(note));
	at += notes;
	for (unsigned i = 0; i < guest_mem_count(gm); i++) {
		const struct guest_mem_range *r = guest_mem_range_at(gm, i);

		if (r->kind == GUEST_MEM_RESERVE)
			continue;
		Elf64_Phdr ph = {
		    .p_type = PT_LOAD,
		    .p_flags = PF_R | PF_X | (r->kind == GUEST_MEM_RAM ? PF_W : 0),
		    .p_offset = at,
		    .p_vaddr = r->start,
		    .p_paddr = r->start,
		    .p_filesz = r->length,
		    .p_memsz = r->length,
		    .p_align = 1,
		};
		dump_put(o, &ph, sizeof(ph));
		at += r->length;
	}
	snprintf(ps.pr_fname, sizeof(ps.pr_fname), "vdm-guest");
	snprintf(ps.pr_psargs, sizeof(ps.pr_psargs), "vdm guest %s %s",
		 vm_conf(vm)->system ? vm_conf(vm)->system : "qvm-guest", vm_uuid(vm));
	dump_note(o, NT_PRPSINFO, &ps, sizeof(ps));
	for (unsigned i = 0; i < vcpus; i++) {
		struct elf_prstatus st;

		dump_prstatus(&st, i, &regs[i]);
		dump_note(o, NT_PRSTATUS, &st, sizeof(st));
	}
	dump_memory(o, gm, buf);
	free(buf);
}

int dump_check(const struct conf_vm *conf, struct conf_diag *diag)
{
	struct stat st;

	if (!conf->dump || conf->dump[0] == '|')
		return 0;
	if (stat(conf->dump, &st) < 0 || !S_ISDIR(st.st_mode) || access(conf->dump, W_OK) < 0) {
		conf_diag_error(diag, &conf->dump_pos,
				"dump %s: %s; give a directory vdm can write to, or \"|command\"",
				conf->dump,
				stat(conf->dump, &st) < 0 ? strerror(errno)
				: !S_ISDIR(st.st_mode)	  ? "not a directory"
							  : "not writable");
		return VDM_EXIT_CONFIG;
	}
	return 0;
}

int dump_write(struct vm *vm, const char *why)
{
	const char *spec = vm_conf(vm)->dump;
	const struct backend_ops *b = vm_options(vm)->backend;
	static struct backend_vcpu_regs regs[DUMP_MAX_VCPUS];
	struct dump_out o;
	int n = 0, ret, status;
	bool held = false;

	if (!spec) {
		vm_log(vm, LOG_LVL_DEBUG, "%s: no `dump` configured: no guest dump", why);
		return -ENOENT;
	}
	ret = dump_open(vm, spec, &o);
	if (ret < 0) {
		vm_log(vm, LOG_LVL_ERROR, "%s: guest dump %s: cannot open: %s", why, spec,
		       strerror(-ret));
		return ret;
	}
	memset(regs, 0, sizeof(regs));
	if (b && b->vcpu_hold) {
		n = b->vcpu_hold(vm, regs, DUMP_MAX_VCPUS);
		held = n >= 0;
		if (n < 0)
			n = 0; /* not running: memory only */
		if (n > DUMP_MAX_VCPUS)
			n = DUMP_MAX_VCPUS;
	}
	dump_core(vm, &o, regs, (unsigned)n);
	if (held)
		b->vcpu_release(vm);
	if (fflush(o.f) != 0 && !o.err)
		o.err = errno ? errno : EIO;
	if (o.pipe) {
		status = pclose(o.f);
		if (!o.err && status != 0)
			o.err = EPIPE;
	} else if (fclose(o.f) != 0 && !o.err) {
		o.err = errno ? errno : EIO;
	}
	if (o.err) {
		vm_log(vm, LOG_LVL_ERROR, "%s: guest dump %s: %s", why, o.path, strerror(o.err));
		return -o.err;
	}
	vm_log(vm, LOG_LVL_INFO, "%s: guest dump written to %s (%d vCPU%s)", why, o.path, n,
	       n == 1 ? "" : "s");
	return 0;
}
