/*
 * samples/guests/rt/start.S: the PVH entry of every sample guest.
 *
 * A PVH loader (vdm's kvm backend, QEMU -M microvm -kernel, Xen) enters
 * _start in 32-bit protected mode, paging off, flat segments, interrupts
 * off, EBX = guest-physical address of struct hvm_start_info. The GDT the
 * loader used is not guaranteed to exist, so we load our own before any
 * segment load and before the first interrupt (interrupt delivery reloads
 * CS from the GDT). The guests stay in 32-bit mode: no page tables to build,
 * and every instruction costs an emulation step on PVM.
 */
#include "rt_layout.h"

	/* XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit physical entry point. */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.p2align 2
	.long _start
	.p2align 2

	.text
	.code32
	.globl _start
_start:
	cli
	cld
	lgdt gdt_descriptor
	ljmp $RT_CODE_SELECTOR, $1f
1:	movl $RT_DATA_SELECTOR, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $rt_stack_top, %esp
	pushl %ebx		/* start_info address (0 on a plain ELF entry) */
	call rt_main
2:	cli
	hlt
	jmp 2b

	.section .rodata
	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: code, base 0, limit 4G, 32-bit */
	.quad 0x00cf92000000ffff	/* 0x10: data, base 0, limit 4G */
gdt_end:
	.p2align 2
gdt_descriptor:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.p2align 4
	.space RT_STACK_SIZE
	.globl rt_stack_top
rt_stack_top:
