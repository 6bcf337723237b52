/*
 * samples/guests/rt/irq_entry.S: interrupt and exception entry stubs.
 *
 * PVM's instruction emulator cannot execute iret (nor int n), so handlers
 * return without it: the CPU pushed EFLAGS, CS, EIP on our one flat stack
 * (same privilege level, so no SS:ESP), and we rewrite that frame into
 * EFLAGS, EIP and finish with popf; ret. This is valid on real hardware
 * and under Xen/QEMU too, because CS never changes (one code segment).
 * popf restores IF before ret: an interrupt arriving in between nests on
 * the same stack and returns to the ret, which is harmless.
 */
#include "rt_layout.h"

	.text
	.code32

/* One 16-byte stub per vector (rt.c computes stub = base + 16 * vector):
 * push a dummy error code when the CPU pushes none, then the vector
 * number, and join the common path. */
	.globl rt_vector_stubs
	.p2align 4
rt_vector_stubs:
	.set vector, 0
	.rept 256
	.p2align 4
	.if (vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
	.else
	pushl $0
	.endif
	pushl $vector
	jmp irq_common
	.set vector, vector + 1
	.endr

irq_common:
	pushal
	movl %esp, %eax
	pushl %eax		/* struct rt_irq_frame * */
	call rt_irq_dispatch
	addl $4, %esp
	popal
	addl $8, %esp		/* vector and error code */
	/* [esp]=EIP [esp+4]=CS [esp+8]=EFLAGS -> [esp]=EFLAGS [esp+4]=EIP */
	pushl %eax
	movl 4(%esp), %eax	/* EIP */
	xchgl %eax, 12(%esp)	/* EFLAGS slot <- EIP, eax = EFLAGS */
	movl %eax, 8(%esp)	/* CS slot <- EFLAGS */
	popl %eax
	addl $4, %esp
	popfl
	ret
