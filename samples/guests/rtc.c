/*
 * samples/guests/rtc.c: the PC's MC146818 real-time clock and CMOS RAM at
 * io:0x70/0x71.
 *
 * Checks: register D reports a good battery; the seconds advance by one at
 * each update-ended flag (register C UF), and two updates are ~1 s apart by
 * the 8254's clock (the RTC runs on real time, here the host's); the same
 * time reads consistently in BCD and in binary (register B DM); the CMOS
 * memory size bytes agree with the memory map the loader passed (base
 * 640 KiB at 0x15/0x16, extended KiB above 1 MiB at 0x17/0x18 and
 * 0x30/0x31, 64 KiB blocks above 16 MiB at 0x34/0x35).
 *
 * vdm: samples/rtc.vmconf. QEMU: -M microvm,rtc=on,pit=on.
 */
#include "rt/pc.h"
#include "rt/rt.h"

#define RTC_INDEX 0x70
#define RTC_DATA  0x71

static uint8_t cmos_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(RTC_INDEX, reg);
	outb(RTC_DATA, v);
}

static unsigned bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

/* Wait for the update-ended flag (register C bit 4; reading C clears it).
 * Returns the 8254 clock then, or 0 after 2 s without one. */
static uint64_t wait_update(void)
{
	uint64_t end = clock_ticks() + 2 * (uint64_t)PIT_HZ;
	uint64_t now;

	while ((now = clock_ticks()) < end)
		if (cmos_read(0x0c) & 0x10)
			return now;
	return 0;
}

/* The RAM map entry holding `addr`: its end, or 0. */
static uint64_t ram_end_at(uint64_t addr)
{
	if (!rt_start_info || rt_start_info->version < 1 || !rt_start_info->memmap_paddr)
		return 0;
	const struct hvm_memmap_table_entry *map =
	    (const void *)(uintptr_t)rt_start_info->memmap_paddr;

	for (unsigned i = 0; i < rt_start_info->memmap_entries; i++)
		if (map[i].type == 1 && map[i].addr <= addr && addr < map[i].addr + map[i].size)
			return map[i].addr + map[i].size;
	return 0;
}

void guest_main(void)
{
	clock_start();
	rt_check("rtc-battery-good", (cmos_read(0x0d) & 0x80) != 0);

	/* 24-hour BCD, no interrupts; register A: the 32.768 kHz time base. */
	cmos_write(0x0a, 0x26);
	cmos_write(0x0b, 0x02);
	(void)cmos_read(0x0c);
	uint64_t t1 = wait_update();
	unsigned s1 = bcd(cmos_read(0x00));
	uint64_t t2 = wait_update();
	unsigned s2 = bcd(cmos_read(0x00));
	uint32_t ms = t1 && t2 ? clock_ticks_to_us(t2 - t1) / 1000 : 0;

	rt_printf("rtc: %02u:%02u:%02u, %u then %u, updates %u ms apart\n", bcd(cmos_read(0x04)),
		  bcd(cmos_read(0x02)), s2, s1, s2, ms);
	rt_check("rtc-update-flag", t1 != 0 && t2 != 0);
	rt_check("rtc-seconds-advance", s2 == (s1 + 1) % 60);
	rt_check("rtc-one-second", ms >= 900 && ms <= 1100);

	/* Binary mode: the same time, not BCD-encoded. Read right after an
	 * update so that the minute cannot roll over in between. */
	if (wait_update()) {
		unsigned min_bcd = bcd(cmos_read(0x02));

		cmos_write(0x0b, 0x06);
		unsigned min_bin = cmos_read(0x02), sec_bin = cmos_read(0x00);

		cmos_write(0x0b, 0x02);
		rt_printf("rtc: minute %u in BCD, %u in binary\n", min_bcd, min_bin);
		rt_check("rtc-binary-mode", min_bin == min_bcd && sec_bin < 60);
	} else {
		rt_fail("rtc-binary-mode", "no update");
	}

	unsigned base = cmos_read(0x15) | cmos_read(0x16) << 8;
	unsigned ext1 = cmos_read(0x17) | cmos_read(0x18) << 8;
	unsigned ext2 = cmos_read(0x30) | cmos_read(0x31) << 8;
	unsigned high = cmos_read(0x34) | cmos_read(0x35) << 8;
	uint64_t end = ram_end_at(0x100000);
	uint64_t want_ext = end > 0x100000 ? (end - 0x100000) >> 10 : 0;
	uint64_t want_high = end > 0x1000000 ? (end - 0x1000000) >> 16 : 0;

	if (want_ext > 0xffff)
		want_ext = 0xffff;
	rt_printf("cmos: base %u KiB, extended %u/%u KiB, above 16M %u x 64 KiB (ram ends %x)\n",
		  base, ext1, ext2, high, (unsigned)end);
	rt_check("cmos-base-memory", base == 640);
	rt_check("cmos-extended-memory", end && ext1 == want_ext && ext2 == want_ext);
	rt_check("cmos-memory-above-16m", end && high == want_high);
}
