/*
 * samples/guests/shmem.c: two VMs talking through vdev-shmem: both
 * attach one named object through the control page and rendezvous in its
 * window, one side's writes read by the other, and doorbells raising the
 * peer's interrupt (level, I/O APIC pin).
 *
 *   role=a: attach, write 1 KiB of a pattern and its checksum, set the
 *     READY word, ring every other peer, then wait (woken by the doorbell
 *     interrupt) for b's ANSWER word: b's checksum of what it read, and a
 *     pattern of its own, which a checks.
 *   role=b: attach, wait for READY (already there if a came first, else
 *     the doorbell wakes it), check the pattern, write the answer, ring a.
 * Either may start first: a's doorbell for a b not yet attached is lost,
 * so b looks at READY before it waits. Command line: shmem=ADDR:IRQ (the
 * control page; the window follows it at +4 KiB), name=OBJECT, role=.
 *
 * vdm: two VMs on samples/shmem.vmconf (VDM_SHMEM_NAME, VDM_SHMEM_ROLE);
 * run by tests/kvm/virtio-guests.sh.
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define IRQ_VECTOR 0x45
#define R_MAGIC	   0x00
#define R_STATUS   0x08
#define R_NAME	   0x10
#define R_SIZE	   0x50
#define R_CMD	   0x54
#define R_RESULT   0x58
#define R_OBJSIZE  0x5c
#define R_DOORBELL 0x60
#define R_IRQ	   0x64
#define R_MASK	   0x68
#define R_ID	   0x6c
#define R_RINGER   0x74
#define WORDS	   256u /* 1 KiB of pattern */
/* window layout (32-bit words) */
#define W_READY	  0x0000u
#define W_SUM	  0x0004u
#define W_DATA	  0x0100u
#define W_ANSWER  0x1000u
#define W_BSUM	  0x1004u
#define W_BDATA	  0x1100u
#define READY	  0x52454459u /* "READY" */
#define ANSWERED  0x414e5357u

static uintptr_t ctrl, window;
static unsigned irq = 9;
static volatile unsigned interrupts, ringer;

static uint32_t reg(unsigned off)
{
	return mmio_read32(ctrl + off);
}

static void set_reg(unsigned off, uint32_t v)
{
	mmio_write32(ctrl + off, v);
}

static uint32_t win(unsigned off)
{
	return mmio_read32(window + off);
}

static void set_win(unsigned off, uint32_t v)
{
	mmio_write32(window + off, v);
}

static void shmem_irq(struct rt_irq_frame *frame)
{
	ringer = reg(R_RINGER);
	set_reg(R_IRQ, 1); /* the level drops before the EOI */
	interrupts++;
	lapic_write(LAPIC_EOI, 0);
}

static uint32_t pattern(uint32_t seed, unsigned i)
{
	return seed * 2654435761u + i * 40503u;
}

/* Write WORDS pattern words at `off`; their sum. */
static uint32_t fill(unsigned off, uint32_t seed)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < WORDS; i++) {
		set_win(off + 4 * i, pattern(seed, i));
		sum += pattern(seed, i);
	}
	return sum;
}

/* Read back WORDS words at `off`: their sum; *bad counts mismatches. */
static uint32_t check(unsigned off, uint32_t seed, unsigned *bad)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i < WORDS; i++) {
		uint32_t v = win(off + 4 * i);

		sum += v;
		*bad += v != pattern(seed, i);
	}
	return sum;
}

/* Wait until the word at `off` reads `want` (woken by doorbells). */
static bool wait_word(unsigned off, uint32_t want, uint32_t us)
{
	uint64_t end = clock_ticks() + clock_us_to_ticks(us);

	while (win(off) != want && clock_ticks() < end)
		clock_sleep_us(20000, &interrupts, interrupts + 1);
	return win(off) == want;
}

static uint64_t parse_hex(const char *s, const char **end)
{
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (;; s++) {
		unsigned d = *s >= '0' && *s <= '9'   ? (unsigned)(*s - '0')
			     : *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
						      : 16u;
		if (d > 15)
			break;
		v = v * 16 + d;
	}
	*end = s;
	return v;
}

static bool attach(const char *name)
{
	char buf[64] = {0};

	for (unsigned i = 0; name[i] && i < 48; i++)
		buf[i] = name[i];
	for (unsigned i = 0; i < 64; i += 4)
		set_reg(R_NAME + i, (uint32_t)(uint8_t)buf[i] | (uint32_t)(uint8_t)buf[i + 1] << 8 |
					(uint32_t)(uint8_t)buf[i + 2] << 16 |
					(uint32_t)(uint8_t)buf[i + 3] << 24);
	set_reg(R_SIZE, 0);
	set_reg(R_CMD, 1);
	rt_printf("attach %s: result %u, id %u, %u bytes\n", name, reg(R_RESULT), reg(R_ID),
		  reg(R_OBJSIZE));
	return reg(R_RESULT) == 0 && reg(R_STATUS) == 1;
}

void guest_main(void)
{
	char value[64], name[64], role[4];
	const char *p, *end;
	bool a;

	lapic_enable_pc();
	outb(PIC_MASTER + 1, 0xff);
	outb(PIC_SLAVE + 1, 0xff);
	clock_start();
	ctrl = 0xfeb10000u;
	p = rt_cmdline_value("shmem", value, sizeof(value));
	if (p) {
		ctrl = (uintptr_t)parse_hex(p, &end);
		if (*end == ':') {
			irq = 0;
			for (end++; *end >= '0' && *end <= '9'; end++)
				irq = irq * 10 + (unsigned)(*end - '0');
		}
	}
	window = ctrl + 0x1000;
	if (!rt_cmdline_value("name", name, sizeof(name)))
		name[0] = 0;
	a = !rt_cmdline_value("role", role, sizeof(role)) || role[0] != 'b';
	rt_printf("shmem at 0x%x irq %u, object %s, role %s\n", (unsigned)ctrl, irq, name,
		  a ? "a" : "b");

	if (!rt_check("shmem-probe", reg(R_MAGIC) == 0x766d6873))
		return;
	rt_irq_set_handler(IRQ_VECTOR, shmem_irq);
	ioapic_route(irq, IRQ_VECTOR, true, false);
	set_reg(R_MASK, 1);
	irq_enable();
	if (!rt_check("shmem-attach", attach(name)))
		return;

	unsigned bad = 0;

	if (a) {
		uint32_t sum = fill(W_DATA, 1);

		set_win(W_SUM, sum);
		set_win(W_READY, READY);
		set_reg(R_DOORBELL, 0xffffffff);
		rt_check("shmem-answer", wait_word(W_ANSWER, ANSWERED, 20000000));
		uint32_t bsum = check(W_BDATA, 2, &bad);

		rt_printf("b read sum %x (wrote %x); b's data sum %x (b says %x), %u bad\n",
			  win(W_SUM), sum, bsum, win(W_BSUM), bad);
		rt_check("shmem-peer-read-ours", win(W_SUM) == sum);
		rt_check("shmem-peer-data", bad == 0 && bsum == win(W_BSUM));
		rt_check("shmem-doorbell-interrupt", interrupts > 0 && ringer != reg(R_ID));
	} else {
		rt_check("shmem-ready", wait_word(W_READY, READY, 20000000));
		uint32_t sum = check(W_DATA, 1, &bad);

		rt_printf("a's data: sum %x (a says %x), %u bad, %u interrupt(s)\n", sum,
			  win(W_SUM), bad, interrupts);
		rt_check("shmem-data", bad == 0 && sum == win(W_SUM));
		set_win(W_BSUM, fill(W_BDATA, 2));
		set_win(W_SUM, sum);
		set_win(W_ANSWER, ANSWERED);
		set_reg(R_DOORBELL, 0xffffffff);
		rt_pass("shmem-answered");
	}
	irq_disable();
	set_reg(R_CMD, 2);
	rt_check("shmem-detach", reg(R_STATUS) == 0);
	ioapic_route(irq, IRQ_VECTOR, true, true);
}
