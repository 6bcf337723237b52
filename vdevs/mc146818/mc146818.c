/*
 * vdevs/mc146818/mc146818.c: the PC real-time clock, a Motorola MC146818A
 * with its 128 bytes of CMOS RAM, at io:0x70 (index) and io:0x71 (data).
 *
 * Modelled (MC146818A datasheet):
 *  - time, alarm and date registers 0x00-0x09 in BCD or binary (register B
 *    DM) and 12 or 24 hours (register B 24/12; in 12-hour mode bit 7 of the
 *    hours is PM), day of week 1-7 counting on its own as the chip's does,
 *    and the PC's century byte at 0x32 (same encoding) carried with the year;
 *  - register A: UIP (set for the 244 us before each update), DV (only
 *    010, the 32.768 kHz time base, runs the clock; 11x holds the divider
 *    chain in reset and the first update comes 500 ms after it is released;
 *    other values stop it), RS periodic rates 256 Hz..2 Hz (RS 1 and 2 as
 *    on a 32.768 kHz crystal);
 *  - register B: SET (stops updates so that software can write the time;
 *    setting it clears UIE, as the datasheet says), PIE, AIE, UIE, SQWE
 *    (kept; there is no SQW pin), DM, 24/12, DSE (kept; daylight saving is
 *    not applied);
 *  - register C: IRQF, PF, AF, UF, all cleared by reading it; the interrupt
 *    line (`intr`, IRQ 8 on a PC: `intr pic:8`) follows IRQF;
 *  - register D: VRT always 1 (the battery is good);
 *  - alarm with "don't care" values (0xc0-0xff), periodic and update-ended
 *    interrupts; the flags are set whether or not the interrupt is enabled,
 *    so polled software sees them too.
 *
 * Time is not ticked: the divider chain runs at 32768 Hz of host time and
 * every update, periodic flag and UIP window is computed from the clocks
 * elapsed. One host timer is armed, only for the next event that would
 * raise IRQF while it is clear and enabled.
 *
 * Where the clock starts: the host's wall clock at create, in UTC (option
 * `utc`, default on; `utc off` gives the host's local time, what DOS and
 * Windows guests expect), or a fixed `time "YYYY-MM-DD HH:MM:SS"` (tests,
 * reproducible runs). From then on it advances with the host's monotonic
 * clock. Writing the time registers sets it as on the chip.
 *
 * Differences from the chip, on purpose: the time is kept as a count, so
 * changing DM or 24/12 re-encodes it (the chip reinterprets the stored
 * bytes until software rewrites them, which every driver does); out-of-range
 * values written to the time registers are clamped to valid ones.
 *
 * CMOS RAM (0x0e-0x7f, 114 bytes) is filled at create with the PC memory
 * sizes from option `ram-size`: base memory 0x15/0x16 (640 KiB), extended
 * memory above 1 MiB in KiB at 0x17/0x18 and 0x30/0x31 (capped at 0xffff),
 * 64 KiB blocks above 16 MiB at 0x34/0x35 (capped), and the checksum of
 * 0x10-0x2d at 0x2e (high) / 0x2f (low). Without `ram-size` the sizes
 * come from the VM's memory map (host->mem_ranges, ABI 1.1): the RAM
 * contiguous from address 0, as a BIOS would have counted it; a 1.0 host
 * has no such service and the extended sizes then read 0.
 *
 * Boot order (option `boot-order`, QEMU's `-boot order=` letters: a or b
 * floppy, c disk, d CD-ROM, n network; up to three): the first two devices
 * in the nibbles of 0x3d (first low), the third in the high nibble of 0x38
 * (its low nibble 0: check the floppy boot signature), as QEMU's PC CMOS
 * has them and SeaBIOS's boot_init reads them (1 floppy, 2 disk, 3 CD, 4
 * network). Empty (the default): both bytes 0, SeaBIOS then orders
 * devices by its own defaults.
 *
 * Under Xen (the HVM platform, devmodel/xen/hvm-platform.vmconf) the
 * hypervisor's vRTC answers 0x70/0x71 for indexes 0-13 itself and passes
 * an index write >= 14, and the data accesses that follow it, to the
 * device model (xen/arch/x86/hvm/rtc.c: rtc_ioport_write returns
 * `data < RTC_CMOS_SIZE`, handle_rtc_io is X86EMUL_UNHANDLEABLE for an
 * index >= 14). So this device serves the CMOS RAM there, and its clock
 * registers and interrupt simply go unused (give it no `intr`: IRQ 8 is
 * Xen's).
 *
 * Reset (power-on of the VM, not of the battery): as the chip's RESET pin,
 * it clears PIE, AIE, UIE, SQWE and the flags, and deasserts the line; the
 * time, the other register bits and the CMOS RAM are battery-backed and
 * survive, which BIOSes rely on (the shutdown byte 0x0f). The index
 * register and the NMI mask bit return to 0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vdev/intr.h>
#include <vdev/vdev.h>
#include <vdev/state.h>

#define RTC_NAME	  "mc146818"
#define RTC_STATE_VERSION 1
#define RTC_HZ		  32768ull
#define RTC_UIP_TICKS	  8		 /* 244 us */
#define RTC_SECS_MAX	  253402300800ll /* 10000-01-01: the registers reach 9999 */
#define RTC_SECS_MIN	  (-62167219200ll) /* 0000-01-01: and start at 0000 */

/* Registers. */
#define RTC_SEC	       0x00
#define RTC_SEC_ALARM  0x01
#define RTC_MIN	       0x02
#define RTC_MIN_ALARM  0x03
#define RTC_HOUR       0x04
#define RTC_HOUR_ALARM 0x05
#define RTC_DOW	       0x06
#define RTC_DAY	       0x07
#define RTC_MONTH      0x08
#define RTC_YEAR       0x09
#define RTC_A	       0x0a
#define RTC_B	       0x0b
#define RTC_C	       0x0c
#define RTC_D	       0x0d
#define RTC_CENTURY    0x32

#define A_UIP  0x80
#define A_DV   0x70
#define A_RS   0x0f
#define DV_RUN 0x20

#define B_SET  0x80
#define B_PIE  0x40
#define B_AIE  0x20
#define B_UIE  0x10
#define B_SQWE 0x08
#define B_DM   0x04
#define B_24H  0x02
#define B_DSE  0x01

#define C_IRQF 0x80
#define C_PF   0x40
#define C_AF   0x20
#define C_UF   0x10

#define D_VRT 0x80

enum { OPT_UTC, OPT_TIME, OPT_RAM_SIZE, OPT_BOOT_ORDER };

static const struct vdev_option_spec rtc_options[] = {
    [OPT_UTC] =
	{
	    .name = "utc",
	    .type = VDEV_OPT_BOOL,
	    .flags = VDEV_OPTF_NOARG,
	    .default_value = "on",
	    .help = "start from the host's UTC time (off: the host's local time)",
	},
    [OPT_TIME] =
	{
	    .name = "time",
	    .type = VDEV_OPT_STRING,
	    .help = "start from this time instead, \"YYYY-MM-DD HH:MM:SS\"",
	},
    [OPT_RAM_SIZE] =
	{
	    .name = "ram-size",
	    .type = VDEV_OPT_SIZE,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0",
	    .help = "the VM's RAM, for the CMOS memory-size bytes (0: from the VM's memory map, "
		    "the RAM contiguous from 0)",
	    .min = 0,
	    .max = (int64_t)(1ull << 52),
	},
    [OPT_BOOT_ORDER] =
	{
	    .name = "boot-order",
	    .type = VDEV_OPT_STRING,
	    .default_value = "",
	    .help = "BIOS boot order for CMOS 0x3d/0x38, QEMU's letters: a floppy, c disk, d CD, n "
		    "net (e.g. cda)",
	},
};

struct rtc {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line;
	struct vdev_timer *timer;
	/* Saved state. */
	uint8_t ram[128]; /* registers 0x00-0x0d (time: while stopped) and CMOS */
	uint8_t index;
	uint8_t nmi_disabled; /* port 0x70 bit 7, kept for status */
	uint8_t dow_adjust;   /* day of week minus the one the date gives, mod 7 */
	int64_t secs;	      /* the time at the update at anchor (seconds since
			       * 1970-01-01 00:00:00 of the RTC's own calendar) */
	uint64_t anchor;      /* 32 kHz clock of an update boundary */
	uint64_t synced;      /* flags are accounted up to this 32 kHz clock */
};

/* -------------------------------------------------------------- calendar */

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
static int64_t rtc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

struct rtc_tm {
	int64_t year;
	unsigned month, day, hour, min, sec, dow; /* dow 0 = Sunday */
};

static void rtc_civil_from_secs(int64_t t, struct rtc_tm *tm)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t rem = t - days * 86400, z = days + 719468, era, doe, yoe, doy, mp;

	tm->hour = (unsigned)(rem / 3600);
	tm->min = (unsigned)(rem / 60 % 60);
	tm->sec = (unsigned)(rem % 60);
	tm->dow = (unsigned)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	tm->month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = yoe + era * 400 + (tm->month <= 2);
}

/* ------------------------------------------------------------- encoding */

static uint8_t rtc_enc(const struct rtc *r, unsigned v)
{
	if (r->ram[RTC_B] & B_DM)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static unsigned rtc_dec(const struct rtc *r, uint8_t v)
{
	if (r->ram[RTC_B] & B_DM)
		return v;
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc_enc_hour(const struct rtc *r, unsigned hour)
{
	unsigned h12;

	if (r->ram[RTC_B] & B_24H)
		return rtc_enc(r, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(rtc_enc(r, h12) | (hour >= 12 ? 0x80 : 0));
}

static unsigned rtc_dec_hour(const struct rtc *r, uint8_t v)
{
	unsigned h;

	if (r->ram[RTC_B] & B_24H)
		return rtc_dec(r, v);
	h = rtc_dec(r, v & 0x7f) % 12;
	return h + (v & 0x80 ? 12 : 0);
}

static unsigned rtc_clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* rtc_encode: write the time `t` into the time and date registers. */
static void rtc_encode(struct rtc *r, int64_t t)
{
	struct rtc_tm tm;
	int64_t y;

	rtc_civil_from_secs(t, &tm);
	y = tm.year < 0 ? 0 : tm.year;
	r->ram[RTC_SEC] = rtc_enc(r, tm.sec);
	r->ram[RTC_MIN] = rtc_enc(r, tm.min);
	r->ram[RTC_HOUR] = rtc_enc_hour(r, tm.hour);
	r->ram[RTC_DOW] = rtc_enc(r, (tm.dow + r->dow_adjust) % 7 + 1);
	r->ram[RTC_DAY] = rtc_enc(r, tm.day);
	r->ram[RTC_MONTH] = rtc_enc(r, tm.month);
	r->ram[RTC_YEAR] = rtc_enc(r, (unsigned)(y % 100));
	r->ram[RTC_CENTURY] = rtc_enc(r, (unsigned)(y / 100 % 100));
}

/* rtc_decode: the time the registers hold (clamped), and the day-of-week offset. */
static int64_t rtc_decode(struct rtc *r)
{
	unsigned year = rtc_clamp(rtc_dec(r, r->ram[RTC_YEAR]), 0, 99) +
			100 * rtc_clamp(rtc_dec(r, r->ram[RTC_CENTURY]), 0, 99);
	unsigned month = rtc_clamp(rtc_dec(r, r->ram[RTC_MONTH]), 1, 12);
	unsigned day = rtc_clamp(rtc_dec(r, r->ram[RTC_DAY]), 1, 31);
	unsigned hour = rtc_clamp(rtc_dec_hour(r, r->ram[RTC_HOUR]), 0, 23);
	unsigned min = rtc_clamp(rtc_dec(r, r->ram[RTC_MIN]), 0, 59);
	unsigned sec = rtc_clamp(rtc_dec(r, r->ram[RTC_SEC]), 0, 59);
	unsigned dow = rtc_clamp(rtc_dec(r, r->ram[RTC_DOW]), 1, 7) - 1;
	int64_t days = rtc_days_from_civil(year, month, day);
	unsigned real = (unsigned)(((days % 7) + 11) % 7);

	r->dow_adjust = (uint8_t)((dow + 7 - real) % 7);
	return days * 86400 + hour * 3600 + min * 60 + sec;
}

/* ------------------------------------------------------------------ time */

static uint64_t rtc_tick_at(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * RTC_HZ / 1000000000u);
}

static uint64_t rtc_tick_ns(uint64_t tick)
{
	return (uint64_t)(((unsigned __int128)tick * 1000000000u + RTC_HZ - 1) / RTC_HZ);
}

static uint64_t rtc_now(const struct rtc *r)
{
	return rtc_tick_at(r->host->clock_ns(r->h));
}

static bool rtc_chain_running(const struct rtc *r)
{
	return (r->ram[RTC_A] & A_DV) == DV_RUN;
}

static bool rtc_clock_running(const struct rtc *r)
{
	return rtc_chain_running(r) && !(r->ram[RTC_B] & B_SET);
}

/* The periodic interval in 32 kHz clocks, 0 when RS selects none. */
static uint64_t rtc_period(const struct rtc *r)
{
	unsigned rs = r->ram[RTC_A] & A_RS;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		rs += 7; /* 256 Hz and 128 Hz on a 32.768 kHz time base */
	return 1ull << (rs - 1);
}

/* How many multiples of `step` after anchor lie in (from, to]. */
static uint64_t rtc_crossings(uint64_t anchor, uint64_t step, uint64_t from, uint64_t to)
{
	uint64_t a = from > anchor ? (from - anchor) / step : 0;
	uint64_t b = to > anchor ? (to - anchor) / step : 0;

	return to > from && b > a ? b - a : 0;
}

/* rtc_alarm_match: do the alarm registers match time t (encoded as now)? */
static bool rtc_alarm_match(const struct rtc *r, int64_t t)
{
	int64_t sod = t % 86400;
	uint8_t sa = r->ram[RTC_SEC_ALARM], ma = r->ram[RTC_MIN_ALARM], ha = r->ram[RTC_HOUR_ALARM];

	if (sod < 0)
		sod += 86400;
	if ((sa & 0xc0) != 0xc0 && sa != rtc_enc(r, (unsigned)(sod % 60)))
		return false;
	if ((ma & 0xc0) != 0xc0 && ma != rtc_enc(r, (unsigned)(sod / 60 % 60)))
		return false;
	if ((ha & 0xc0) != 0xc0 && ha != rtc_enc_hour(r, (unsigned)(sod / 3600)))
		return false;
	return true;
}

static void rtc_irqf(struct rtc *r)
{
	uint8_t c = r->ram[RTC_C] & (C_PF | C_AF | C_UF);

	if (c & r->ram[RTC_B] & (B_PIE | B_AIE | B_UIE))
		c |= C_IRQF;
	r->ram[RTC_C] = c;
}

/* rtc_sync: account the updates and periodic ticks up to 32 kHz clock now. */
static void rtc_sync(struct rtc *r, uint64_t now)
{
	uint64_t period = rtc_period(r), n;

	if (now <= r->synced || !rtc_chain_running(r)) {
		r->synced = now > r->synced ? now : r->synced;
		return;
	}
	if (period && rtc_crossings(r->anchor, period, r->synced, now))
		r->ram[RTC_C] |= C_PF;
	if (rtc_clock_running(r)) {
		n = rtc_crossings(r->anchor, RTC_HZ, r->synced, now);
		if (n) {
			/* An alarm pattern repeats within a day: look at most at one. */
			uint64_t first = n > 86400 ? n - 86400 : 0;

			for (uint64_t k = first + 1; k <= n && !(r->ram[RTC_C] & C_AF); k++)
				if (rtc_alarm_match(r, r->secs + (int64_t)k))
					r->ram[RTC_C] |= C_AF;
			r->ram[RTC_C] |= C_UF;
			r->secs += (int64_t)n;
			r->anchor += n * RTC_HZ;
		}
	}
	r->synced = now;
	rtc_irqf(r);
}

/* rtc_next_event: the 32 kHz clock of the next event that would raise
 * IRQF, or 0 when none can (IRQF already set, nothing enabled, stopped). */
static uint64_t rtc_next_event(const struct rtc *r, uint64_t now)
{
	uint64_t period = rtc_period(r), next = 0, t;
	uint8_t b = r->ram[RTC_B];

	if ((r->ram[RTC_C] & C_IRQF) || !rtc_chain_running(r))
		return 0;
	if ((b & B_PIE) && period) {
		t = r->anchor + ((now - r->anchor) / period + 1) * period;
		next = t;
	}
	if ((b & (B_UIE | B_AIE)) && rtc_clock_running(r)) {
		t = r->anchor + ((now - r->anchor) / RTC_HZ + 1) * RTC_HZ;
		if (!next || t < next)
			next = t;
	}
	return next;
}

/* rtc_update: the line follows IRQF; the timer waits for the next event. */
static void rtc_update(struct rtc *r)
{
	uint64_t ns = r->host->clock_ns(r->h), now = rtc_tick_at(ns), next;

	if (!r->line)
		return;
	r->host->line_set(r->h, r->line, !!(r->ram[RTC_C] & C_IRQF));
	next = rtc_next_event(r, now);
	if (next) {
		uint64_t at = rtc_tick_ns(next);

		r->host->timer_arm(r->h, r->timer, at > ns ? at - ns : 0, 0);
	} else {
		r->host->timer_cancel(r->h, r->timer);
	}
}

static void rtc_timer_fired(void *dev, void *arg)
{
	struct rtc *r = dev;

	rtc_sync(r, rtc_now(r));
	rtc_update(r);
}

/* ------------------------------------------------------------- registers */

static bool rtc_is_time_reg(unsigned index)
{
	return index == RTC_SEC || index == RTC_MIN || index == RTC_HOUR ||
	       (index >= RTC_DOW && index <= RTC_YEAR) || index == RTC_CENTURY;
}

static uint8_t rtc_reg_read(struct rtc *r, unsigned index, uint64_t now)
{
	uint8_t v;

	switch (index) {
	case RTC_A:
		v = r->ram[RTC_A] & ~A_UIP;
		if (rtc_clock_running(r)) {
			uint64_t next = r->anchor + ((now - r->anchor) / RTC_HZ + 1) * RTC_HZ;

			if (next - now <= RTC_UIP_TICKS)
				v |= A_UIP;
		}
		return v;
	case RTC_C:
		v = r->ram[RTC_C];
		r->ram[RTC_C] = 0; /* every flag clears on read */
		return v;
	case RTC_D:
		return D_VRT;
	default:
		break;
	}
	if (rtc_is_time_reg(index) && rtc_clock_running(r))
		rtc_encode(r, r->secs);
	return r->ram[index];
}

static void rtc_reg_write(struct rtc *r, unsigned index, uint8_t value, uint64_t now)
{
	uint8_t old;

	switch (index) {
	case RTC_A:
		old = r->ram[RTC_A];
		if (rtc_clock_running(r))
			rtc_encode(r, r->secs); /* the clock may stop: keep the time */
		r->ram[RTC_A] = value & ~A_UIP;
		if ((old & A_DV) != DV_RUN && (value & A_DV) == DV_RUN) {
			/* Divider released: the first update comes 500 ms later. */
			r->anchor = now + RTC_HZ / 2 - RTC_HZ;
			r->synced = now;
			if (!(r->ram[RTC_B] & B_SET))
				r->secs = rtc_decode(r);
		}
		return;
	case RTC_B:
		old = r->ram[RTC_B];
		if (rtc_clock_running(r))
			rtc_encode(r, r->secs);
		if (value & B_SET)
			value &= (uint8_t)~B_UIE;
		r->ram[RTC_B] = value;
		if ((old & B_SET) && !(value & B_SET) && rtc_chain_running(r)) {
			/* Updates resume on the divider's next second boundary. */
			r->secs = rtc_decode(r);
			r->anchor += (now - r->anchor) / RTC_HZ * RTC_HZ;
		} else if (rtc_clock_running(r) && (old ^ value) & (B_DM | B_24H)) {
			rtc_encode(r, r->secs); /* new format: see the top comment */
		}
		rtc_irqf(r);
		return;
	case RTC_C:
	case RTC_D:
		return; /* read-only */
	default:
		break;
	}
	if (rtc_is_time_reg(index) && rtc_clock_running(r)) {
		rtc_encode(r, r->secs);
		r->ram[index] = value;
		r->secs = rtc_decode(r);
		return;
	}
	r->ram[index] = value;
}

static int rtc_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct rtc *r = dev;
	uint64_t now = rtc_now(r);

	rtc_sync(r, now);
	if (a->offset == 0)
		*value = 0xff; /* the index register is write-only */
	else
		*value = rtc_reg_read(r, r->index, now);
	rtc_update(r);
	return 0;
}

static int rtc_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct rtc *r = dev;
	uint64_t now = rtc_now(r);

	rtc_sync(r, now);
	if (a->offset == 0) {
		r->index = value & 0x7f;
		r->nmi_disabled = (value >> 7) & 1;
	} else {
		rtc_reg_write(r, r->index, (uint8_t)value, now);
	}
	rtc_update(r);
	return 0;
}

/* ------------------------------------------------------------- lifecycle */

static void rtc_reset(void *dev)
{
	struct rtc *r = dev;

	rtc_sync(r, rtc_now(r));
	r->ram[RTC_B] &= (uint8_t) ~(B_PIE | B_AIE | B_UIE | B_SQWE);
	r->ram[RTC_C] = 0;
	r->index = 0;
	r->nmi_disabled = 0;
	if (r->line)
		r->host->line_set(r->h, r->line, 0);
	r->host->timer_cancel(r->h, r->timer);
}

/*
 * rtc_guest_ram: the RAM a BIOS would count, contiguous from 0 (ranges that
 * touch are one; the PC hole below 1 MiB, reserved or ROM, is skipped as
 * the memory-size bytes count from 1 MiB). 0 when the host cannot tell.
 */
static uint64_t rtc_guest_ram(const struct vdev_host *host, vdev_host_t *h)
{
	struct vdev_mem_range ranges[16];
	uint64_t end = 0;
	int n;

	if (!VDEV_HOST_HAS(host, mem_ranges))
		return 0;
	n = host->mem_ranges(h, ranges, 16);
	for (int i = 0; i < n && i < 16; i++) {
		if (ranges[i].kind != VDEV_MEM_RAM)
			continue;
		if (ranges[i].start > end &&
		    !(end <= (1ull << 20) && ranges[i].start <= (1ull << 20)))
			break;
		end = ranges[i].start + ranges[i].length;
	}
	return end;
}

/* rtc_cmos_fill: the PC memory-size bytes and their checksum. */
static void rtc_cmos_fill(struct rtc *r, uint64_t ram_size)
{
	uint64_t ext_kib = ram_size > (1ull << 20) ? (ram_size - (1ull << 20)) >> 10 : 0;
	uint64_t high_64k = ram_size > (16ull << 20) ? (ram_size - (16ull << 20)) >> 16 : 0;
	unsigned sum = 0;

	if (ext_kib > 0xffff)
		ext_kib = 0xffff;
	if (high_64k > 0xffff)
		high_64k = 0xffff;
	r->ram[0x15] = 640 & 0xff;
	r->ram[0x16] = 640 >> 8;
	r->ram[0x17] = r->ram[0x30] = (uint8_t)ext_kib;
	r->ram[0x18] = r->ram[0x31] = (uint8_t)(ext_kib >> 8);
	r->ram[0x34] = (uint8_t)high_64k;
	r->ram[0x35] = (uint8_t)(high_64k >> 8);
	for (unsigned i = 0x10; i <= 0x2d; i++)
		sum += r->ram[i];
	r->ram[0x2e] = (uint8_t)(sum >> 8);
	r->ram[0x2f] = (uint8_t)sum;
}

/* rtc_boot_order: QEMU's boot letters into 0x3d and 0x38; -EINVAL for others or more than 3. */
static int rtc_boot_order(struct rtc *r, const char *order)
{
	uint8_t dev[3] = {0};
	size_t n = strlen(order);

	if (n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		switch (order[i]) {
		case 'a':
		case 'b':
			dev[i] = 1;
			break;
		case 'c':
			dev[i] = 2;
			break;
		case 'd':
			dev[i] = 3;
			break;
		case 'n':
			dev[i] = 4;
			break;
		default:
			return -EINVAL;
		}
	}
	r->ram[0x3d] = (uint8_t)(dev[1] << 4 | dev[0]);
	r->ram[0x38] = (uint8_t)(dev[2] << 4);
	return 0;
}

/* rtc_parse_time: "YYYY-MM-DD HH:MM:SS" (or with a T) to seconds. */
static int rtc_parse_time(const char *text, int64_t *t)
{
	unsigned y, mo, d, h, mi, s;
	char sep;
	int n = 0;

	if (sscanf(text, "%4u-%2u-%2u%c%2u:%2u:%2u%n", &y, &mo, &d, &sep, &h, &mi, &s, &n) != 7 ||
	    text[n] || (sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || s > 59 || y > 9999)
		return -EINVAL;
	*t = rtc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

static int rtc_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	const struct vdev_option_value *opt = cfg->options;
	enum vdev_space space = VDEV_SPACE_PIO;
	uint64_t base = 0x70, now_ns;
	struct rtc *r;
	int64_t start;
	int rc;

	if (cfg->loc_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes one loc");
		return -EINVAL;
	}
	if (cfg->loc_count == 1) {
		const struct vdev_loc *loc = &cfg->locs[0];

		if (loc->kind != VDEV_LOC_ADDR || (loc->length && loc->length != 2)) {
			host->log(h, VDEV_LOG_ERROR, "loc must be an address of length 2");
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
	}
	if (opt[OPT_TIME].count) {
		if (rtc_parse_time(opt[OPT_TIME].v.s, &start) < 0) {
			host->log(h, VDEV_LOG_ERROR,
				  "time \"%s\": expected \"YYYY-MM-DD HH:MM:SS\"",
				  opt[OPT_TIME].v.s);
			return -EINVAL;
		}
	} else {
		time_t wall = time(NULL);
		struct tm tm;

		if (opt[OPT_UTC].v.b)
			gmtime_r(&wall, &tm);
		else
			localtime_r(&wall, &tm);
		start = rtc_days_from_civil(tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
					    (unsigned)tm.tm_mday) *
			    86400 +
			tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->host = host;
	r->h = h;
	if (rtc_boot_order(r, opt[OPT_BOOT_ORDER].v.s ? opt[OPT_BOOT_ORDER].v.s : "") < 0) {
		host->log(
		    h, VDEV_LOG_ERROR,
		    "boot-order \"%s\": up to three of a, b (floppy), c (disk), d (CD), n (net)",
		    opt[OPT_BOOT_ORDER].v.s);
		rc = -EINVAL;
		goto fail;
	}
	/* IRQ 8; several intr entries all hear it (pic:8,ioapic:8) */
	if (cfg->intr_count) {
		rc = vdev_intr_lookup_all(host, h, cfg, &r->line);
		if (rc < 0) {
			host->log(h, VDEV_LOG_ERROR, "cannot find interrupt line %s: %d",
				  cfg->intrs[0], rc);
			goto fail;
		}
	}
	rc = host->timer_create(h, rtc_timer_fired, NULL, &r->timer);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot create a timer: %d", rc);
		goto fail;
	}
	rc = host->region_add(h, space, base, 2, 0);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot claim 0x%llx+2: %d", (unsigned long long)base,
			  rc);
		goto fail;
	}
	/* What a BIOS leaves: 32.768 kHz, 1024 Hz rate, BCD, 24 hours. */
	r->ram[RTC_A] = DV_RUN | 0x06;
	r->ram[RTC_B] = B_24H;
	r->secs = start;
	now_ns = host->clock_ns(h);
	r->anchor = rtc_tick_at(now_ns);
	r->synced = r->anchor;
	rtc_encode(r, start);
	rtc_cmos_fill(r, opt[OPT_RAM_SIZE].v.u ? opt[OPT_RAM_SIZE].v.u : rtc_guest_ram(host, h));
	*devp = r;
	return 0;
fail:
	free(r);
	return rc;
}

static void rtc_destroy(void *dev)
{
	free(dev);
}

/* 32 kHz clocks travel relative to the clock at save time, so a restore on
 * a host whose clock started elsewhere continues where the save left off. */
static void rtc_state(struct vdev_state *st, struct rtc *r, uint64_t now)
{
	uint64_t anchor = now - r->anchor, synced = now - r->synced, secs = (uint64_t)r->secs;

	vdev_state_bytes(st, r->ram, sizeof(r->ram));
	vdev_state_u8(st, &r->index);
	vdev_state_u8(st, &r->nmi_disabled);
	vdev_state_u8(st, &r->dow_adjust);
	vdev_state_u64(st, &secs);
	vdev_state_u64(st, &anchor);
	vdev_state_u64(st, &synced);
	if (!vdev_state_restoring(st))
		return;
	r->secs = (int64_t)secs;
	r->anchor = now - anchor;
	r->synced = now - synced;
	if (r->index > 0x7f || r->nmi_disabled > 1 || r->dow_adjust > 6 ||
	    (r->ram[RTC_A] & A_UIP) || (r->ram[RTC_C] & 0x0f) || (int64_t)synced < 0 ||
	    (int64_t)anchor < 0 || r->secs < RTC_SECS_MIN || r->secs >= RTC_SECS_MAX ||
	    ((r->ram[RTC_B] & B_SET) && (r->ram[RTC_B] & B_UIE)))
		vdev_state_invalid(st);
}

static ssize_t rtc_save(void *dev, void *buf, size_t cap)
{
	struct rtc *r = dev;
	struct vdev_state st;
	uint64_t now = rtc_now(r);

	rtc_sync(r, now);
	vdev_state_save_begin(&st, buf, cap, RTC_NAME, RTC_STATE_VERSION);
	rtc_state(&st, r, now);
	return vdev_state_save_end(&st);
}

static int rtc_restore(void *dev, const void *buf, size_t length)
{
	struct rtc *r = dev, scratch = *r;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, RTC_NAME, RTC_STATE_VERSION);
	rtc_state(&st, &scratch, rtc_now(r));
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	*r = scratch;
	rtc_irqf(r);
	rtc_update(r);
	return 0;
}

static int rtc_status(void *dev, char *buf, size_t cap)
{
	struct rtc *r = dev;
	struct rtc_tm tm;

	rtc_sync(r, rtc_now(r));
	rtc_civil_from_secs(r->secs, &tm);
	return snprintf(buf, cap, "%04lld-%02u-%02u %02u:%02u:%02u%s A %02x B %02x C %02x",
			(long long)tm.year, tm.month, tm.day, tm.hour, tm.min, tm.sec,
			rtc_clock_running(r) ? "" : " (stopped)", r->ram[RTC_A], r->ram[RTC_B],
			r->ram[RTC_C]);
}

static const struct vdev_ops rtc_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = rtc_create,
    .destroy = rtc_destroy,
    .read = rtc_read,
    .write = rtc_write,
    .reset = rtc_reset,
    .save = rtc_save,
    .restore = rtc_restore,
    .status = rtc_status,
};

/* The data port shows CMOS RAM and the clock: the time runs by itself, and
 * the time, its format (register B) and the RAM are battery-backed, so
 * rtc_reset keeps them, as a PC's RTC does. The index port is not noted. */
static const struct vdev_register_note rtc_register_notes[] = {
    {.region = 0,
     .offset = 1,
     .length = 1,
     .kind = VDEV_REG_PRESERVED,
     .why = "CMOS RAM, the time and its format are battery-backed"},
};

static const struct vdev_descriptor rtc_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = RTC_NAME,
    .version = "1.0.0",
    .description = "Motorola MC146818A real-time clock with 128 bytes of CMOS RAM",
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(RTC_NAME) - 1) + VDEV_STATE_SIZE_BYTES(128) +
		  3 * VDEV_STATE_SIZE_U8 + 3 * VDEV_STATE_SIZE_U64,
    .options = rtc_options,
    .option_count = sizeof(rtc_options) / sizeof(rtc_options[0]),
    .ops = &rtc_ops,
    .register_notes = rtc_register_notes,
    .register_note_count = sizeof(rtc_register_notes) / sizeof(rtc_register_notes[0]),
};

VDEV_PLUGIN_ENTRY(rtc_descriptor)
