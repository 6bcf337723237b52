/*
 * samples/guests/xen_mmio.c: MMIO and string I/O through the device model.
 *
 * Needs a vdev-hpet at 0xfed00000 (MMIO) and a vdev-ser8250 at 0x3f8
 * (ports). On Xen both reach vdm as ioreqs: MMIO as IOREQ_TYPE_COPY, ports
 * as IOREQ_TYPE_PIO, and the string instructions as requests with count > 1
 * whose data is a guest-physical buffer (data_is_ptr), walking down when
 * the direction flag is set. On the kvm backend the same accesses arrive
 * as MMIO/IO exits. Each check reads back what the device holds, so a
 * lost, reordered or truncated repetition fails it.
 */
#include "rt/rt.h"

#define HPET	       0xfed00000u
#define HPET_GCAP      0x000
#define HPET_CONF      0x010
#define HPET_COUNTER   0x0f0
#define HPET_T0_CMP    0x108	 /* comparator (lo, hi), then FSB route (lo, hi): 4 RW dwords */
#define HPET_PERIOD_FS 69841280u /* 10^15 / 14318180 Hz, rounded */

#define COM1_SCR (RT_COM1 + 7)
#define COM1_LSR (RT_COM1 + 5)

static uint32_t hpet_read(unsigned reg)
{
	return mmio_read32(HPET + reg);
}

static void hpet_write(unsigned reg, uint32_t v)
{
	mmio_write32(HPET + reg, v);
}

/* rep movsl of n dwords from src to dst, upwards or (df) downwards. */
static void rep_movsl(volatile void *dst, const volatile void *src, unsigned n, bool df)
{
	if (df) {
		/* with DF set the instruction starts at the last element */
		dst = (volatile uint32_t *)dst + (n - 1);
		src = (const volatile uint32_t *)src + (n - 1);
		__asm__ volatile("std; rep movsl; cld"
				 : "+D"(dst), "+S"(src), "+c"(n)
				 :
				 : "memory");
	} else {
		__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
	}
}

static void rep_outsb(uint16_t port, const void *src, unsigned n)
{
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(n) : "d"(port) : "memory");
}

static void rep_insb(uint16_t port, void *dst, unsigned n, bool df)
{
	if (df) {
		dst = (uint8_t *)dst + (n - 1);
		__asm__ volatile("std; rep insb; cld" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
	} else {
		__asm__ volatile("rep insb" : "+D"(dst), "+c"(n) : "d"(port) : "memory");
	}
}

static void check_hpet_mmio(void)
{
	uint32_t id = hpet_read(HPET_GCAP), period = hpet_read(HPET_GCAP + 4);
	uint32_t c0, c1;

	rt_printf("hpet id %08x period %u fs\n", id, period);
	rt_check("hpet-id", (id >> 16) == 0x8086 && (id & 0xff) == 1);
	rt_check("hpet-period", period == HPET_PERIOD_FS || period == HPET_PERIOD_FS - 1);
	/* a plain write, read back (the FSB route register is plain storage) */
	hpet_write(HPET_T0_CMP + 8, 0x12345678);
	hpet_write(HPET_T0_CMP + 12, 0x9abcdef0);
	rt_check("mmio-write-read", hpet_read(HPET_T0_CMP + 8) == 0x12345678 &&
					hpet_read(HPET_T0_CMP + 12) == 0x9abcdef0);
	/* the counter runs only while enabled */
	hpet_write(HPET_CONF, 1);
	c0 = hpet_read(HPET_COUNTER);
	/*
	 * The device computes the counter from the host's clock, whose
	 * resolution in an emulated dom0 may be a few milliseconds: poll until
	 * it moves (every read is a round trip through the hypervisor), within
	 * a bound, rather than assume any two reads differ.
	 */
	c1 = c0;
	for (unsigned reads = 0; c1 == c0 && reads < 2000; reads++)
		c1 = hpet_read(HPET_COUNTER);
	hpet_write(HPET_CONF, 0);
	rt_printf("hpet counter %u -> %u\n", c0, c1);
	rt_check("hpet-counts", c1 != c0);
}

static void check_rep_mmio(void)
{
	static const uint32_t up[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
	static const uint32_t down[4] = {0xa1a1a1a1, 0xb2b2b2b2, 0xc3c3c3c3, 0xd4d4d4d4};
	volatile uint32_t *regs = (volatile uint32_t *)(HPET + HPET_T0_CMP);
	uint32_t back[6] = {0xeeeeeeee, 0, 0, 0, 0, 0xeeeeeeee};
	bool ok = true;

	/* RAM -> MMIO: one request, count 4, data = the buffer's address */
	rep_movsl(regs, up, 4, false);
	for (unsigned i = 0; i < 4; i++)
		ok = ok && regs[i] == up[i];
	rt_check("rep-movs-to-mmio", ok);
	/* MMIO -> RAM, into a buffer with guards on both sides */
	rep_movsl(&back[1], regs, 4, false);
	ok = back[0] == 0xeeeeeeee && back[5] == 0xeeeeeeee;
	for (unsigned i = 0; i < 4; i++)
		ok = ok && back[i + 1] == up[i];
	rt_check("rep-movs-from-mmio", ok);
	/* direction flag set: last element first, addresses going down */
	rep_movsl(regs, down, 4, true);
	ok = true;
	for (unsigned i = 0; i < 4; i++)
		ok = ok && regs[i] == down[i];
	rep_movsl(&back[1], regs, 4, true);
	ok = ok && back[0] == 0xeeeeeeee && back[5] == 0xeeeeeeee;
	for (unsigned i = 0; i < 4; i++)
		ok = ok && back[i + 1] == down[i];
	rt_check("rep-movs-df", ok);
}

static void check_rep_ports(void)
{
	static const char line[] = "PASS rep-outs\n"; /* fits the 16-byte FIFO */
	static const uint8_t seq[5] = {1, 2, 3, 4, 0x5a};
	uint8_t buf[12];
	bool ok;

	/* the line itself goes out through rep outsb: the host sees it or not */
	while ((inb(COM1_LSR) & 0x60) != 0x60)
		;
	rep_outsb(RT_COM1, line, sizeof(line) - 1);
	/* every repetition is a write to the scratch register: the last stays */
	rep_outsb(COM1_SCR, seq, sizeof(seq));
	rt_check("rep-outs-scratch", inb(COM1_SCR) == 0x5a);
	/* rep insb: 8 reads of the scratch register, between guard bytes */
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 0xee;
	rep_insb(COM1_SCR, &buf[2], 8, false);
	ok = buf[0] == 0xee && buf[1] == 0xee && buf[10] == 0xee && buf[11] == 0xee;
	for (unsigned i = 2; i < 10; i++)
		ok = ok && buf[i] == 0x5a;
	rt_check("rep-ins", ok);
	outb(COM1_SCR, 0xc3);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 0xee;
	rep_insb(COM1_SCR, &buf[2], 8, true);
	ok = buf[0] == 0xee && buf[1] == 0xee && buf[10] == 0xee && buf[11] == 0xee;
	for (unsigned i = 2; i < 10; i++)
		ok = ok && buf[i] == 0xc3;
	rt_check("rep-ins-df", ok);
}

void guest_main(void)
{
	check_hpet_mmio();
	check_rep_mmio();
	check_rep_ports();
}
