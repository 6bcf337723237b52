/*
 * devmodel/dump.h: a dump of the guest, as qvm's `dump` option makes it.
 *
 *   dump DIR        DIR/<system>-YYYYMMDD-hhmmss.gcore (-1 .. -9 added when
 *                   the name is taken; <system> is qvm-guest without one)
 *   dump "|cmd"     the same bytes into `sh -c cmd`'s standard input
 *
 * The file is an ELF64 core: a PT_NOTE with one NT_PRSTATUS per vCPU (the
 * registers in Linux's x86-64 user_regs_struct layout, so gdb shows them:
 * `gdb -batch -c FILE -ex 'info registers'`) and an NT_PRPSINFO, then one
 * PT_LOAD per RAM and ROM range at its guest-physical address (p_vaddr =
 * p_paddr = the address; `x/4wx ADDR` reads guest memory).
 *
 * Written on SIGUSR2 (with the status) and when a watchdog's action is
 * `dump,terminate` (vdev terminate with VDEV_TERMINATE_DUMP), from vdm's
 * signal thread, never under a device's lock. The backend holds the vCPUs
 * while it is written (backend_ops.vcpu_hold: kvm parks its vCPU threads,
 * xen pauses the domain and reads xc_vcpu_getcontext), so registers and
 * memory agree; without that op (sim, xen after --restrict) the core has
 * no registers.
 */
#ifndef VDM_DUMP_H
#define VDM_DUMP_H

struct vm;

/*
 * dump_write: write the dump the configuration asks for (`why` goes into
 * the log line). Returns 0; -ENOENT when the config has no `dump`; else a
 * negative errno (logged).
 */
int dump_write(struct vm *vm, const char *why);

/*
 * dump_check: `dump DIR` names a directory vdm can write to (a `|cmd` is
 * the shell's to judge). 0, or VDM_EXIT_CONFIG reported at the argument.
 */
struct conf_vm;
struct conf_diag;
int dump_check(const struct conf_vm *conf, struct conf_diag *diag);

#endif /* VDM_DUMP_H */
