/*
 * samples/guests/hvm-boot/bootsect.S: a 512-byte boot sector for the
 * real-Xen HVM run. SeaBIOS loads it from vdm's boot disk at 0x7c00 and
 * jumps to it in real mode; it checks the platform as hvmloader left it
 * and prints one line per check on COM1 (0x3f8, polled: no interrupts):
 *	PASS 00:00.0 8086:1237     the i440FX host bridge (vdevs/i440fx)
 *	PASS 00:01.0 8086:7000     the PIIX3 hvmloader asserts on
 *	PASS 00:01.3 8086:7113     PIIX4 PM
 *	PASS PIRQ 05/0a/0b/05      hvmloader's link routes (0x60-0x63)
 *	PASS CMOS boot order       0x3d non-zero (SeaBIOS's boot order byte)
 *	PASS PM timer moves        Xen's ACPI PM timer at 0xb008
 *	PASS SCI_EN                PM1a_CNT (0xb004) after acpi_enable_sci
 * (FAIL instead of PASS when a value differs), then "DONE powering off"
 * and an S5 request: SLP_TYP 0 | SLP_EN | SCI_EN written to PM1a_CNT,
 * which vdm turns into xendevicemodel_shutdown(poweroff). Should that not
 * end the domain, it halts. tests/xen-e2e looks for these lines.
 *
 * Built with the system assembler as a 16-bit flat binary
 * (samples/guests/hvm-boot/module.mk); the disk image is this sector
 * followed by zeroes. With -DOPTION_ROM the same checks become a PCI
 * expansion ROM (hvm-boot.rom) that SeaBIOS runs during POST from a
 * `vdev pci-dummy rom-file ...`: the real-Xen run uses it until vdm has
 * a boot disk.
 */
	.code16
	.text
#ifdef OPTION_ROM
/*
 * The same checks as a PCI expansion ROM (build with -DOPTION_ROM, link at
 * 0): SeaBIOS copies it into the option-ROM area and far-calls offset 3
 * during POST, with DS anything; its PCI data structure names the
 * pci-dummy function it sits behind (vendor 0x1234, device 0x0d01).
 */
#define ROM_BLOCKS 2
	.globl _start
_start:
	.byte	0x55, 0xaa, ROM_BLOCKS
	jmp	rom_init
	.org	0x18
	.word	pcir		/* PCI data structure */
	.word	0		/* no PnP header */
pcir:
	.ascii	"PCIR"
	.word	0x1234, 0x0d01	/* vendor, device */
	.word	0		/* no VPD */
	.word	0x18		/* structure length */
	.byte	0		/* structure revision */
	.byte	0, 0, 0xff	/* class code (prog-if, sub, base) */
	.word	ROM_BLOCKS	/* image length, 512-byte units */
	.word	1		/* code revision */
	.byte	0		/* x86 code */
	.byte	0x80		/* the last image */
	.word	0
rom_init:
	cli
	pushw	%cs
	popw	%ds
	cld
	movw	$msg_rom, %si
	call	puts
#else
	.globl _start
_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp
	cld

	movw	$msg_hello, %si
	call	puts
#endif

	/* PCI identities: CONFIG_ADDRESS 0x80000000 | devfn << 8 */
	movl	$0x80000000, %eax
	movl	$0x12378086, %ebx
	movw	$msg_hb, %si
	call	check_cfg
	movl	$0x80000800, %eax
	movl	$0x70008086, %ebx
	movw	$msg_isa, %si
	call	check_cfg
	movl	$0x80000b00, %eax
	movl	$0x71138086, %ebx
	movw	$msg_pm, %si
	call	check_cfg
	movl	$0x80000860, %eax	/* PIRQRC A-D as one dword */
	movl	$0x050b0a05, %ebx
	movw	$msg_pirq, %si
	call	check_cfg

	/* CMOS 0x3d: the boot order byte SeaBIOS read; 0 or 0xff = nobody */
	movb	$0x3d, %al
	outb	%al, $0x70
	inb	$0x71, %al
	movw	$msg_cmos, %si
	cmpb	$0, %al
	je	1f
	cmpb	$0xff, %al
	je	1f
	call	pass
	jmp	2f
1:	call	fail
2:
	/* PM timer (24-bit, 3.58 MHz): two reads some thousand loops apart differ */
	movw	$0xb008, %dx
	inl	%dx, %eax
	movl	%eax, %ebx
	movl	$0x100000, %ecx
3:	inl	%dx, %eax
	cmpl	%eax, %ebx
	jne	4f
	loopl	3b
	movw	$msg_tmr, %si
	call	fail
	jmp	5f
4:	movw	$msg_tmr, %si
	call	pass
5:
	/* PM1a_CNT: hvmloader's acpi_enable_sci left SCI_EN set */
	movw	$0xb004, %dx
	inw	%dx, %ax
	movw	$msg_sci, %si
	testw	$1, %ax
	jz	6f
	call	pass
	jmp	7f
6:	call	fail
7:
	movw	$msg_done, %si
	call	puts
	/* S5: SLP_TYP 0, SLP_EN (bit 13), keep SCI_EN */
	movw	$0xb004, %dx
	movw	$0x2001, %ax
	outw	%ax, %dx
8:	hlt
	jmp	8b

/* check_cfg: read config dword %eax; PASS/FAIL line with %si when it equals %ebx */
check_cfg:
	movw	$0xcf8, %dx
	outl	%eax, %dx
	movw	$0xcfc, %dx
	inl	%dx, %eax
	cmpl	%eax, %ebx
	jne	fail
	/* fall through */
pass:
	pushw	%si
	movw	$msg_pass, %si
	call	puts
	popw	%si
	jmp	line
fail:
	pushw	%si
	movw	$msg_fail, %si
	call	puts
	popw	%si
line:
	call	puts
	movw	$msg_nl, %si
	/* fall through */
/* puts: the NUL-terminated string at %si to COM1 */
puts:
	lodsb
	testb	%al, %al
	jz	10f
	movb	%al, %ah
	movw	$0x3fd, %dx
9:	inb	%dx, %al		/* LSR: transmit holding register empty */
	testb	$0x20, %al
	jz	9b
	movw	$0x3f8, %dx
	movb	%ah, %al
	outb	%al, %dx
	jmp	puts
10:	ret

msg_hello:	.asciz	"vdm-hvm: boot sector\r\n"
msg_rom:	.asciz	"vdm-hvm: option ROM\r\n"
msg_pass:	.asciz	"PASS "
msg_fail:	.asciz	"FAIL "
msg_nl:		.asciz	"\r\n"
msg_hb:		.asciz	"00:00.0 8086:1237"
msg_isa:	.asciz	"00:01.0 8086:7000"
msg_pm:		.asciz	"00:01.3 8086:7113"
msg_pirq:	.asciz	"PIRQ 05/0a/0b/05"
msg_cmos:	.asciz	"CMOS boot order"
msg_tmr:	.asciz	"PM timer moves"
msg_sci:	.asciz	"SCI_EN"
msg_done:	.asciz	"DONE powering off\r\n"

#ifdef OPTION_ROM
	.org	ROM_BLOCKS * 512 - 1
	.byte	0		/* checksum: set by the build so that all bytes sum to 0 */
#else
	.org	510
	.byte	0x55, 0xaa
#endif
