/*
 * vdevs/ser8250/ser8250.c: a 16550A UART (the PC's COM port) connected to a
 * host endpoint (hostio.h).
 *
 * Registers, FIFOs and interrupts follow the 16550A datasheet: RBR/THR,
 * IER, IIR/FCR, LCR (DLAB selects the divisor latch at offsets 0/1), MCR,
 * LSR, MSR, SCR; 16-byte receive and transmit FIFOs with receive trigger
 * levels 1/4/8/14; interrupt priorities receiver line status > received
 * data available = character timeout > THR empty > modem status, told by
 * IIR; reading IIR while it reports THRE clears that interrupt; enabling
 * ETBEI with the THR empty raises it; MCR loopback (transmitter to
 * receiver, DTR/RTS/OUT1/OUT2 to DSR/CTS/RI/DCD, with delta bits).
 *
 * Timing: a byte leaves the transmitter as soon as the host-side buffer
 * has room (no baud-rate delay), so THRE and TEMT are clear only while
 * bytes wait for the host. The character timeout does follow the line
 * settings: four character times (start + data + parity + stop bits at
 * 115200 / divisor baud) after the last receive or RBR read.
 *
 * The interrupt line, as on a PC: the UART's INTR output is wired through
 * a buffer enabled by OUT2, so the line is asserted only while an
 * interrupt is pending and MCR.OUT2 is set; in loopback mode the OUT2 pin
 * is forced inactive, so the line stays low (IIR still reports). No
 * `intr`: no line (the guest polls).
 *
 * Host side, on the event-loop thread only (fd_watch, timers): output goes
 * into a bounded buffer flushed when the descriptor is writable (after
 * `batch` microseconds when given). Nothing is dropped when the host side
 * is slow: when that buffer is full, bytes stay in the transmit FIFO and
 * THRE/TEMT stay clear until it drains. Input is read only as far as the
 * receive FIFO has room (the rest waits in the kernel), and not at all in
 * loopback mode. With no output endpoint the transmitter discards bytes.
 * The host side being present shows as CTS, DSR and DCD in MSR.
 *
 * `delayed seconds|forever`: opening the host endpoints may fail at
 * creation (a socket server not up yet, a device not there yet); the port
 * retries every 100 ms. Until it succeeds the guest sees CTS/DSR/DCD low
 * and what it transmits is held (THRE clears once the buffer is full);
 * when it succeeds the modem-status inputs rise (an MSR interrupt if
 * enabled) and held output flows. After `seconds` without success the port
 * logs an error and discards output from then on. Without `delayed`, an
 * endpoint that cannot be opened fails the creation.
 *
 * Save/restore covers the UART (registers and both FIFOs); the host-side
 * output buffer is host state and is not saved.
 */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/intr.h>
#include <vdev/vdev.h>
#include <vdev/state.h>

#include "vdevs/common/hostio.h"

#define SER_NAME	  "ser8250"
#define SER_STATE_VERSION 1
#define SER_FIFO	  16
#define SER_OUTBUF	  4096
#define SER_CLOCK_BAUD	  115200u /* 1.8432 MHz / 16 */
#define SER_RETRY_NS	  100000000ull

/* Register offsets. */
enum { REG_DATA, REG_IER, REG_IIR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI  0x04
#define IER_EDSSI 0x08

#define IIR_NONE    0x01
#define IIR_MSR	    0x00
#define IIR_THRE    0x02
#define IIR_RDA	    0x04
#define IIR_RLS	    0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO    0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA	     0x08

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR	   0x01
#define LSR_OE	   0x02
#define LSR_PE	   0x04
#define LSR_FE	   0x08
#define LSR_BI	   0x10
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_CTS	  0x10
#define MSR_DSR	  0x20
#define MSR_RI	  0x40
#define MSR_DCD	  0x80
#define MSR_DELTA 0x0f

enum { OPT_HOSTDEV, OPT_BATCH, OPT_DELAYED };

static const struct vdev_option_spec ser_options[] = {
    [OPT_HOSTDEV] =
	{
	    .name = "hostdev",
	    .type = VDEV_OPT_STRING,
	    .flags = VDEV_OPTF_REPEAT,
	    .help = "[<|>]stdout|-|stdin|pty|unix:PATH|PATH, or >\"|COMMAND\": the host side (< "
		    "in, > out)",
	},
    [OPT_BATCH] =
	{
	    .name = "batch",
	    .type = VDEV_OPT_UINT,
	    .flags = VDEV_OPTF_RANGE,
	    .default_value = "0",
	    .help = "microseconds to gather output before writing it to the host",
	    .min = 0,
	    .max = 10000000,
	},
    [OPT_DELAYED] =
	{
	    .name = "delayed",
	    .type = VDEV_OPT_STRING,
	    .help = "seconds|forever: retry opening the host side instead of failing",
	},
};

/* The UART's state: what save/restore carries. */
struct ser_regs {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_errors;   /* latched OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr;	      /* inputs (high nibble) and deltas */
	uint8_t fcr;	      /* FIFO enable, DMA mode, trigger bits as written */
	uint8_t thri_pending; /* a THRE interrupt waits */
	uint8_t timeout_pending;
	uint8_t rx[SER_FIFO], rx_head, rx_count;
	uint8_t tx[SER_FIFO], tx_head, tx_count;
};

struct ser {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line;
	struct ser_regs r;
	int line_level;

	/* host side */
	struct hostio io;
	const char *const *hostdev_texts;
	unsigned hostdev_count;
	bool connected; /* endpoints open (or none configured) */
	bool discard;	/* delayed gave up, or the reader went away */
	bool in_eof;	/* input ended or failed: stop reading */
	bool in_hup;	/* the writer went away: read what is left, unwatched */
	uint64_t batch_ns;
	uint64_t delay_deadline; /* 0: forever */
	struct vdev_watch *in_watch, *out_watch;
	uint32_t in_events, out_events;
	struct vdev_timer *timeout_timer, *kick_timer, *batch_timer, *retry_timer;
	bool batch_armed; /* the batch timer runs */
	bool batch_due;	  /* it fired: write as soon as the descriptor takes it */
	uint8_t out[SER_OUTBUF];
	size_t out_head, out_count;
};

static void ser_host_sync(struct ser *s);

/* ------------------------------------------------------------ UART core */

static unsigned ser_fifo_capacity(const struct ser *s)
{
	return (s->r.fcr & FCR_ENABLE) ? SER_FIFO : 1;
}

static unsigned ser_rx_trigger(const struct ser *s)
{
	static const uint8_t levels[4] = {1, 4, 8, 14};

	return levels[s->r.fcr >> 6];
}

/* ser_char_ns: one character time at the programmed divisor and format. */
static uint64_t ser_char_ns(const struct ser *s)
{
	unsigned divisor = (unsigned)s->r.dll | ((unsigned)s->r.dlm << 8);
	unsigned bits =
	    1 + 5 + (s->r.lcr & 3) + ((s->r.lcr & 0x08) ? 1 : 0) + ((s->r.lcr & 0x04) ? 2 : 1);

	if (divisor == 0)
		divisor = 0x10000; /* the latch counts 65536 when loaded with 0 */
	return (uint64_t)bits * divisor * 1000000000ull / SER_CLOCK_BAUD;
}

static uint8_t ser_iir(const struct ser *s)
{
	const struct ser_regs *r = &s->r;
	bool rda = (r->fcr & FCR_ENABLE) ? r->rx_count >= ser_rx_trigger(s) : r->rx_count > 0;

	if ((r->ier & IER_ELSI) && (r->lsr_errors & LSR_ERRORS))
		return IIR_RLS;
	if ((r->ier & IER_ERBFI) && rda)
		return IIR_RDA;
	if ((r->ier & IER_ERBFI) && r->timeout_pending && r->rx_count)
		return IIR_TIMEOUT;
	if ((r->ier & IER_ETBEI) && r->thri_pending)
		return IIR_THRE;
	if ((r->ier & IER_EDSSI) && (r->msr & MSR_DELTA))
		return IIR_MSR;
	return IIR_NONE;
}

/* ser_update_irq: the PC wiring: INTR gated by OUT2, which loopback forces off. */
static void ser_update_irq(struct ser *s)
{
	int level = ser_iir(s) != IIR_NONE && (s->r.mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;

	s->line_level = level;
	if (s->line)
		s->host->line_set(s->h, s->line, level); /* the host filters repeats */
}

/* ser_msr_sync: recompute the modem-status inputs and latch the deltas. */
static void ser_msr_sync(struct ser *s)
{
	uint8_t old = s->r.msr, in;

	if (s->r.mcr & MCR_LOOP)
		in = ((s->r.mcr & MCR_DTR) ? MSR_DSR : 0) | ((s->r.mcr & MCR_RTS) ? MSR_CTS : 0) |
		     ((s->r.mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->r.mcr & MCR_OUT2) ? MSR_DCD : 0);
	else
		in = s->connected && !s->discard ? (MSR_CTS | MSR_DSR | MSR_DCD) : 0;
	s->r.msr = (uint8_t)(in | (old & MSR_DELTA));
	if ((old ^ in) & MSR_CTS)
		s->r.msr |= MSR_DCTS;
	if ((old ^ in) & MSR_DSR)
		s->r.msr |= MSR_DDSR;
	if ((old ^ in) & MSR_DCD)
		s->r.msr |= MSR_DDCD;
	if ((old & MSR_RI) && !(in & MSR_RI))
		s->r.msr |= MSR_TERI; /* trailing edge only */
}

/* ser_timeout_restart: receiver activity; the 4-character timer starts over. */
static void ser_timeout_restart(struct ser *s)
{
	s->r.timeout_pending = 0;
	if ((s->r.fcr & FCR_ENABLE) && s->r.rx_count)
		s->host->timer_arm(s->h, s->timeout_timer, 4 * ser_char_ns(s), 0);
	else
		s->host->timer_cancel(s->h, s->timeout_timer);
}

/* ser_rx_push: a character reached the receiver. */
static void ser_rx_push(struct ser *s, uint8_t c)
{
	struct ser_regs *r = &s->r;

	if (r->rx_count >= ser_fifo_capacity(s)) {
		r->lsr_errors |= LSR_OE;
		if (!(r->fcr & FCR_ENABLE))
			r->rx[r->rx_head] = c; /* character mode: RBR is overwritten */
		return;			       /* FIFO mode: the new character is lost */
	}
	r->rx[(r->rx_head + r->rx_count) % SER_FIFO] = c;
	r->rx_count++;
	ser_timeout_restart(s);
}

static uint8_t ser_rx_pop(struct ser *s)
{
	struct ser_regs *r = &s->r;
	uint8_t c;

	if (!r->rx_count)
		return 0;
	c = r->rx[r->rx_head];
	r->rx_head = (uint8_t)((r->rx_head + 1) % SER_FIFO);
	r->rx_count--;
	ser_timeout_restart(s);
	return c;
}

/* ser_tx_drain: move what the transmitter holds to its destination. */
static void ser_tx_drain(struct ser *s)
{
	struct ser_regs *r = &s->r;
	bool had = r->tx_count != 0;

	while (r->tx_count) {
		uint8_t c = r->tx[r->tx_head];

		if (r->mcr & MCR_LOOP) {
			ser_rx_push(s, c);
		} else if (s->io.out_fd >= 0 || !s->connected) {
			if (s->discard) {
				/* nobody to talk to any more */
			} else if (s->out_count < SER_OUTBUF) {
				s->out[(s->out_head + s->out_count) % SER_OUTBUF] = c;
				s->out_count++;
			} else {
				break; /* backpressure: THRE stays clear */
			}
		}
		r->tx_head = (uint8_t)((r->tx_head + 1) % SER_FIFO);
		r->tx_count--;
	}
	if (had && !r->tx_count)
		r->thri_pending = 1;
}

static void ser_thr_write(struct ser *s, uint8_t c)
{
	struct ser_regs *r = &s->r;

	r->thri_pending = 0;
	if (r->tx_count >= ser_fifo_capacity(s)) {
		/* The guest ignored THRE; a real UART loses the character too. */
		s->host->log(s->h, VDEV_LOG_DEBUG, "THR written while full: 0x%02x lost", c);
		return;
	}
	r->tx[(r->tx_head + r->tx_count) % SER_FIFO] = c;
	r->tx_count++;
	ser_tx_drain(s);
	ser_host_sync(s);
}

static void ser_fcr_write(struct ser *s, uint8_t v)
{
	struct ser_regs *r = &s->r;

	if ((v ^ r->fcr) & FCR_ENABLE) {
		/* Switching FIFO mode resets both FIFOs. */
		v |= FCR_CLEAR_RX | FCR_CLEAR_TX;
	}
	/* Other bits are taken only while FIFO enable is written as 1. */
	r->fcr = (v & FCR_ENABLE) ? (uint8_t)(v & (0xc0 | FCR_DMA | FCR_ENABLE)) : 0;
	if (v & FCR_CLEAR_RX) {
		r->rx_head = r->rx_count = 0;
		ser_timeout_restart(s);
	}
	if (v & FCR_CLEAR_TX) {
		if (r->tx_count)
			r->thri_pending = 1;
		r->tx_head = r->tx_count = 0;
	}
	ser_host_sync(s);
}

static int ser_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	struct ser *s = dev;
	struct ser_regs *r = &s->r;
	uint8_t v = 0xff;

	switch (a->offset) {
	case REG_DATA:
		if (r->lcr & LCR_DLAB) {
			v = r->dll;
		} else {
			v = ser_rx_pop(s);
			ser_host_sync(s); /* room again: resume reading the host */
		}
		break;
	case REG_IER:
		v = (r->lcr & LCR_DLAB) ? r->dlm : r->ier;
		break;
	case REG_IIR:
		v = ser_iir(s);
		if (v == IIR_THRE)
			r->thri_pending = 0;
		if (r->fcr & FCR_ENABLE)
			v |= IIR_FIFO;
		break;
	case REG_LCR:
		v = r->lcr;
		break;
	case REG_MCR:
		v = r->mcr;
		break;
	case REG_LSR:
		v = (r->rx_count ? LSR_DR : 0) | r->lsr_errors |
		    (r->tx_count ? 0 : LSR_THRE | LSR_TEMT);
		r->lsr_errors = 0;
		break;
	case REG_MSR:
		v = r->msr;
		r->msr &= (uint8_t)~MSR_DELTA;
		break;
	case REG_SCR:
		v = r->scr;
		break;
	default:
		return VDEV_ACCESS_BUS_ERROR;
	}
	*value = v;
	ser_update_irq(s);
	return 0;
}

static int ser_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct ser *s = dev;
	struct ser_regs *r = &s->r;
	uint8_t v = (uint8_t)value;

	switch (a->offset) {
	case REG_DATA:
		if (r->lcr & LCR_DLAB)
			r->dll = v;
		else
			ser_thr_write(s, v);
		break;
	case REG_IER:
		if (r->lcr & LCR_DLAB) {
			r->dlm = v;
			break;
		}
		/* Enabling ETBEI with the THR already empty raises THRE at once. */
		if ((v & IER_ETBEI) && !(r->ier & IER_ETBEI) && !r->tx_count)
			r->thri_pending = 1;
		r->ier = v & 0x0f;
		break;
	case REG_IIR:
		ser_fcr_write(s, v);
		break;
	case REG_LCR:
		r->lcr = v;
		break;
	case REG_MCR: {
		bool loop_changed = (v ^ r->mcr) & MCR_LOOP;

		r->mcr = v & 0x1f;
		ser_msr_sync(s);
		if (loop_changed) {
			ser_tx_drain(s);
			ser_host_sync(s);
		}
		break;
	}
	case REG_LSR:
		break; /* factory test only: ignored */
	case REG_MSR:
		break; /* read-only */
	case REG_SCR:
		r->scr = v;
		break;
	default:
		return VDEV_ACCESS_BUS_ERROR;
	}
	ser_update_irq(s);
	return 0;
}

/* ----------------------------------------------------------- host side */

static void ser_set_watch(struct ser *s, struct vdev_watch *w, uint32_t *cur, uint32_t events)
{
	if (w && *cur != events && s->host->fd_modify(s->h, w, events) == 0)
		*cur = events;
}

/*
 * ser_host_sync: make the watches match what the UART can take now: input
 * while the receive FIFO has room (and not in loopback), output while the
 * buffer holds bytes (after the batch delay).
 */
static void ser_host_sync(struct ser *s)
{
	bool want_in = s->connected && !s->in_eof && s->io.in_fd >= 0 && !(s->r.mcr & MCR_LOOP) &&
		       s->r.rx_count < ser_fifo_capacity(s);
	bool want_out = s->connected && s->io.out_fd >= 0 && s->out_count && !s->discard;

	if (want_out && s->batch_ns && !s->batch_armed && !s->batch_due) {
		s->batch_armed = true;
		s->host->timer_arm(s->h, s->batch_timer, s->batch_ns, 0);
	}
	if (s->batch_armed)
		want_out = false;
	if (s->in_hup) {
		/* Unwatched (poll would report the hang-up forever): the
		 * rest of the input is read from the event loop via kick. */
		if (want_in)
			s->host->timer_arm(s->h, s->kick_timer, 0, 0);
		want_in = false;
	}
	if (s->in_watch == s->out_watch) {
		ser_set_watch(s, s->in_watch, &s->in_events,
			      (want_in ? VDEV_FD_IN : 0) | (want_out ? VDEV_FD_OUT : 0));
		s->out_events = s->in_events;
	} else {
		ser_set_watch(s, s->in_watch, &s->in_events, want_in ? VDEV_FD_IN : 0);
		ser_set_watch(s, s->out_watch, &s->out_events, want_out ? VDEV_FD_OUT : 0);
	}
}

static void ser_host_input(struct ser *s)
{
	uint8_t buf[SER_FIFO];
	unsigned room = ser_fifo_capacity(s) - s->r.rx_count;
	ssize_t n;

	if (!room || (s->r.mcr & MCR_LOOP))
		return;
	n = hostio_read(&s->io, buf, room);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		s->host->log(s->h, VDEV_LOG_INFO, "input %s ended%s", s->io.in_name,
			     n < 0 ? " with an error" : "");
		s->in_eof = true;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		ser_rx_push(s, buf[i]);
}

static void ser_host_output(struct ser *s)
{
	while (s->out_count) {
		size_t chunk = s->out_count;
		ssize_t n;

		if (s->out_head + chunk > SER_OUTBUF)
			chunk = SER_OUTBUF - s->out_head;
		n = hostio_write(&s->io, s->out + s->out_head, chunk);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			s->host->log(s->h, VDEV_LOG_WARN,
				     "output %s failed (%s): discarding output from now on",
				     s->io.out_name, strerror((int)-n));
			s->discard = true;
			s->out_count = 0;
			ser_msr_sync(s);
			break;
		}
		s->out_head = (s->out_head + (size_t)n) % SER_OUTBUF;
		s->out_count -= (size_t)n;
	}
	if (!s->out_count) {
		s->out_head = 0;
		s->batch_due = false;
	}
}

/* The fd callback (event-loop thread). */
static void ser_fd_event(void *dev, void *arg, int fd, uint32_t events)
{
	struct ser *s = dev;

	if (fd == s->io.in_fd && (events & (VDEV_FD_IN | VDEV_FD_HUP | VDEV_FD_ERR)))
		ser_host_input(s);
	if (fd == s->io.out_fd && (events & (VDEV_FD_OUT | VDEV_FD_ERR)))
		ser_host_output(s);
	if (fd == s->io.in_fd && (events & (VDEV_FD_HUP | VDEV_FD_ERR)) && !s->in_eof) {
		if (s->in_watch == s->out_watch) {
			s->in_eof = true; /* a socket or pty peer is gone for good */
		} else if (s->in_watch) {
			s->host->fd_unwatch(s->h, s->in_watch);
			s->in_watch = NULL;
			s->in_hup = true;
		}
	}
	ser_tx_drain(s);
	ser_host_sync(s);
	ser_update_irq(s);
}

static void ser_timeout_fired(void *dev, void *arg)
{
	struct ser *s = dev;

	if ((s->r.fcr & FCR_ENABLE) && s->r.rx_count)
		s->r.timeout_pending = 1;
	ser_update_irq(s);
}

static void ser_batch_fired(void *dev, void *arg)
{
	struct ser *s = dev;

	s->batch_armed = false;
	s->batch_due = true;
	ser_host_output(s);
	ser_tx_drain(s);
	ser_host_sync(s);
	ser_update_irq(s);
}

/* ser_kick: resume the host side after a restore (never inside restore itself). */
static void ser_kick(void *dev, void *arg)
{
	struct ser *s = dev;

	ser_msr_sync(s);
	if (s->in_hup && !s->in_eof)
		ser_host_input(s);
	if ((s->r.fcr & FCR_ENABLE) && s->r.rx_count && !s->r.timeout_pending)
		s->host->timer_arm(s->h, s->timeout_timer, 4 * ser_char_ns(s), 0);
	ser_tx_drain(s);
	ser_host_sync(s);
	ser_update_irq(s);
}

/* ser_connect: open the endpoints and watch them. */
static int ser_connect(struct ser *s, char *err, size_t errlen)
{
	int rc;

	rc = hostio_open(s->hostdev_texts, s->hostdev_count, &s->io, err, errlen);
	if (rc < 0)
		return rc;
	if (s->io.in_fd >= 0) {
		rc = s->host->fd_watch(s->h, s->io.in_fd, 0, ser_fd_event, NULL, &s->in_watch);
		if (rc < 0)
			goto fail;
	}
	if (s->io.out_fd >= 0 && s->io.out_fd == s->io.in_fd) {
		s->out_watch = s->in_watch;
	} else if (s->io.out_fd >= 0) {
		rc = s->host->fd_watch(s->h, s->io.out_fd, 0, ser_fd_event, NULL, &s->out_watch);
		if (rc < 0)
			goto fail;
	}
	s->in_events = s->out_events = 0;
	s->connected = true;
	/* where the guest's output goes, also when it goes nowhere */
	if (s->io.in_fd >= 0 || s->io.out_fd >= 0)
		s->host->log(s->h, VDEV_LOG_INFO, "host side: in %s, out %s",
			     s->io.in_fd >= 0 ? s->io.in_name : "none",
			     s->io.out_fd >= 0 ? s->io.out_name : "none");
	else
		s->host->log(s->h, VDEV_LOG_INFO,
			     "no hostdev: the guest's output is discarded and no input arrives "
			     "(hostdev >stdout, pty, unix:PATH or a file connects it)");
	return 0;
fail:
	snprintf(err, errlen, "cannot watch the host side: %s", strerror(-rc));
	if (s->in_watch)
		s->host->fd_unwatch(s->h, s->in_watch);
	s->in_watch = s->out_watch = NULL;
	hostio_close(&s->io);
	return rc;
}

static void ser_retry_fired(void *dev, void *arg)
{
	struct ser *s = dev;
	char err[256];

	if (s->connected)
		return;
	if (ser_connect(s, err, sizeof(err)) == 0) {
		s->host->timer_cancel(s->h, s->retry_timer);
	} else if (s->delay_deadline && s->host->clock_ns(s->h) >= s->delay_deadline) {
		s->host->log(s->h, VDEV_LOG_ERROR, "%s; gave up waiting: output is discarded", err);
		s->host->timer_cancel(s->h, s->retry_timer);
		s->connected = true;
		s->discard = true;
		s->out_count = 0;
	} else {
		return;
	}
	ser_msr_sync(s);
	ser_tx_drain(s);
	ser_host_sync(s);
	ser_update_irq(s);
}

/* ------------------------------------------------------------ lifecycle */

static void ser_regs_reset(struct ser *s)
{
	memset(&s->r, 0, sizeof(s->r));
	s->r.dll = 12; /* 9600 baud, what PC firmware leaves */
	ser_msr_sync(s);
	s->r.msr &= (uint8_t)~MSR_DELTA;
}

static void ser_reset(void *dev)
{
	struct ser *s = dev;

	s->host->timer_cancel(s->h, s->timeout_timer);
	s->host->timer_cancel(s->h, s->kick_timer);
	ser_regs_reset(s);
	ser_host_sync(s);
	ser_update_irq(s);
}

static int ser_parse_delayed(struct ser *s, const struct vdev_option_value *v, bool *delayed)
{
	char err[160];

	*delayed = v->count > 0;
	if (!*delayed)
		return 0;
	if (hostio_parse_delayed(v->v.s, s->host->clock_ns(s->h), &s->delay_deadline, err,
				 sizeof(err))) {
		s->host->log(s->h, VDEV_LOG_ERROR, "%s", err);
		return -EINVAL;
	}
	return 0;
}

/*
 * ser_flush_at_exit: what the guest already sent reaches the host side when
 * the VM ends: the transmit FIFO and the host buffer (batched output too).
 * A slow reader gets at most SER_EXIT_FLUSH_MS; the VM is gone and nothing
 * else waits on the control thread, so this bounded wait is the one place
 * the device may wait for its host side.
 */
#define SER_EXIT_FLUSH_MS 500
static void ser_flush_at_exit(struct ser *s)
{
	int waited_ms = 0;

	if (s->io.out_fd < 0 || s->discard || !s->connected || (s->r.mcr & MCR_LOOP))
		return;
	ser_tx_drain(s);
	while (s->out_count) {
		size_t chunk = s->out_count;
		ssize_t n;

		if (s->out_head + chunk > SER_OUTBUF)
			chunk = SER_OUTBUF - s->out_head;
		n = hostio_write(&s->io, s->out + s->out_head, chunk);
		if (n > 0) {
			s->out_head = (s->out_head + (size_t)n) % SER_OUTBUF;
			s->out_count -= (size_t)n;
			ser_tx_drain(s); /* bytes held back by backpressure */
			continue;
		}
		struct pollfd pfd = {.fd = s->io.out_fd, .events = POLLOUT};
		if (n != -EAGAIN || waited_ms >= SER_EXIT_FLUSH_MS || poll(&pfd, 1, 50) < 0)
			break;
		waited_ms += 50;
	}
	if (s->out_count || s->r.tx_count)
		s->host->log(s->h, VDEV_LOG_WARN, "%zu byte(s) of output not delivered at exit",
			     s->out_count + s->r.tx_count);
}

static void ser_destroy(void *dev)
{
	struct ser *s = dev;

	ser_flush_at_exit(s);

	if (s->in_watch)
		s->host->fd_unwatch(s->h, s->in_watch);
	if (s->out_watch && s->out_watch != s->in_watch)
		s->host->fd_unwatch(s->h, s->out_watch);
	if (s->timeout_timer)
		s->host->timer_destroy(s->h, s->timeout_timer);
	if (s->kick_timer)
		s->host->timer_destroy(s->h, s->kick_timer);
	if (s->batch_timer)
		s->host->timer_destroy(s->h, s->batch_timer);
	if (s->retry_timer)
		s->host->timer_destroy(s->h, s->retry_timer);
	hostio_close(&s->io);
	free(s);
}

static int ser_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		      void **devp)
{
	struct ser *s;
	enum vdev_space space = VDEV_SPACE_PIO;
	uint64_t base = 0x3f8;
	char err[256];
	bool delayed;
	int rc;

	if (cfg->loc_count > 1) {
		host->log(h, VDEV_LOG_ERROR, "takes at most one loc");
		return -EINVAL;
	}
	if (cfg->loc_count == 1) {
		const struct vdev_loc *loc = &cfg->locs[0];

		if (loc->kind != VDEV_LOC_ADDR || (loc->length && loc->length != 8)) {
			host->log(h, VDEV_LOG_ERROR, "loc must be an address of length 8");
			return -EINVAL;
		}
		space = loc->space;
		base = loc->base;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->host = host;
	s->h = h;
	s->io.in_fd = s->io.out_fd = s->io.pty_slave = -1;
	s->hostdev_texts = cfg->options[OPT_HOSTDEV].texts;
	s->hostdev_count = cfg->options[OPT_HOSTDEV].count;
	s->batch_ns = cfg->options[OPT_BATCH].v.u * 1000ull;
	rc = ser_parse_delayed(s, &cfg->options[OPT_DELAYED], &delayed);
	if (rc < 0)
		goto fail;
	/* one line; several intr entries all hear it (pic:4,ioapic:4) */
	if (cfg->intr_count) {
		rc = vdev_intr_lookup_all(host, h, cfg, &s->line);
		if (rc < 0) {
			host->log(h, VDEV_LOG_ERROR, "cannot find interrupt line %s: %d",
				  cfg->intrs[0], rc);
			goto fail;
		}
	}
	rc = host->timer_create(h, ser_timeout_fired, NULL, &s->timeout_timer);
	if (rc == 0)
		rc = host->timer_create(h, ser_kick, NULL, &s->kick_timer);
	if (rc == 0)
		rc = host->timer_create(h, ser_batch_fired, NULL, &s->batch_timer);
	if (rc == 0)
		rc = host->timer_create(h, ser_retry_fired, NULL, &s->retry_timer);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot create timers: %d", rc);
		goto fail;
	}
	rc = host->region_add(h, space, base, 8, 0);
	if (rc < 0) {
		host->log(h, VDEV_LOG_ERROR, "cannot claim 0x%llx+8: %d", (unsigned long long)base,
			  rc);
		goto fail;
	}
	rc = ser_connect(s, err, sizeof(err));
	if (rc < 0 && (!delayed || rc == -EINVAL)) {
		host->log(h, VDEV_LOG_ERROR, "%s", err);
		goto fail;
	}
	if (rc < 0) {
		host->log(h, VDEV_LOG_INFO, "%s; retrying (delayed)", err);
		host->timer_arm(h, s->retry_timer, SER_RETRY_NS, SER_RETRY_NS);
	}
	ser_regs_reset(s);
	ser_host_sync(s);
	*devp = s;
	return 0;
fail:
	ser_destroy(s);
	return rc;
}

/* ser_state: the UART's fields, in both directions (the FIFOs as their contents). */
static void ser_state(struct vdev_state *st, struct ser_regs *r)
{
	uint8_t rx[SER_FIFO] = {0}, tx[SER_FIFO] = {0};
	bool restoring = vdev_state_restoring(st);
	uint8_t *bytes[] = {&r->ier,
			    &r->lcr,
			    &r->mcr,
			    &r->scr,
			    &r->dll,
			    &r->dlm,
			    &r->lsr_errors,
			    &r->msr,
			    &r->fcr,
			    &r->thri_pending,
			    &r->timeout_pending,
			    &r->rx_count,
			    &r->tx_count};

	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
		vdev_state_u8(st, bytes[i]);
	if (!restoring) {
		/* Saved in order from the head, zero-padded: same state, same bytes. */
		for (unsigned i = 0; i < r->rx_count && i < SER_FIFO; i++)
			rx[i] = r->rx[(r->rx_head + i) % SER_FIFO];
		for (unsigned i = 0; i < r->tx_count && i < SER_FIFO; i++)
			tx[i] = r->tx[(r->tx_head + i) % SER_FIFO];
	}
	vdev_state_bytes(st, rx, sizeof(rx));
	vdev_state_bytes(st, tx, sizeof(tx));
	if (!restoring)
		return;
	memcpy(r->rx, rx, sizeof(rx));
	memcpy(r->tx, tx, sizeof(tx));
	r->rx_head = r->tx_head = 0;
	if ((r->ier & 0xf0) || (r->mcr & 0xe0) || (r->lsr_errors & ~LSR_ERRORS) ||
	    (r->fcr & ~(0xc0 | FCR_DMA | FCR_ENABLE)) || ((r->fcr & 0xc8) && !(r->fcr & 1)) ||
	    r->thri_pending > 1 || r->timeout_pending > 1 || r->rx_count > SER_FIFO ||
	    r->tx_count > SER_FIFO ||
	    (!(r->fcr & FCR_ENABLE) && (r->rx_count > 1 || r->tx_count > 1)))
		vdev_state_invalid(st);
}

static ssize_t ser_save(void *dev, void *buf, size_t cap)
{
	struct ser *s = dev;
	struct vdev_state st;

	vdev_state_save_begin(&st, buf, cap, SER_NAME, SER_STATE_VERSION);
	ser_state(&st, &s->r);
	return vdev_state_save_end(&st);
}

static int ser_restore(void *dev, const void *buf, size_t length)
{
	struct ser *s = dev;
	struct ser_regs scratch = s->r;
	struct vdev_state st;
	int rc;

	vdev_state_restore_begin(&st, buf, length, SER_NAME, SER_STATE_VERSION);
	ser_state(&st, &scratch);
	rc = vdev_state_restore_end(&st);
	if (rc < 0)
		return rc;
	s->r = scratch;
	s->host->timer_cancel(s->h, s->timeout_timer);
	ser_update_irq(s);
	/* Host-side work (resuming transfers, re-syncing modem inputs) runs
	 * from the event loop, so that a save right after gives the same bytes. */
	s->host->timer_arm(s->h, s->kick_timer, 0, 0);
	return 0;
}

static int ser_status(void *dev, char *buf, size_t cap)
{
	struct ser *s = dev;

	return snprintf(buf, cap, "in %s, out %s; rx %u tx %u host-buffer %zu%s",
			s->io.in_fd >= 0 ? s->io.in_name : "none",
			s->io.out_fd >= 0 ? s->io.out_name : "none", s->r.rx_count, s->r.tx_count,
			s->out_count, s->connected ? "" : " (waiting for the host side)");
}

/* The host side in QEMU's chardev naming (libxl's query-chardev reads "pty:PATH"). */
static int ser_host_endpoint(void *dev, char *buf, size_t cap)
{
	struct ser *s = dev;
	const char *name = s->io.out_fd >= 0 ? s->io.out_name : s->io.in_name;

	if (s->io.out_fd < 0 && s->io.in_fd < 0)
		return -ENOENT;
	if (!strncmp(name, "pty ", 4))
		return snprintf(buf, cap, "pty:%s", name + 4);
	if (!strncmp(name, "unix:", 5))
		return snprintf(buf, cap, "%s", name);
	if (!strcmp(name, "stdout") || !strcmp(name, "-") || !strcmp(name, "stdin"))
		return snprintf(buf, cap, "stdio");
	return snprintf(buf, cap, "file:%s", name);
}

static const struct vdev_ops ser_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = ser_create,
    .destroy = ser_destroy,
    .read = ser_read,
    .write = ser_write,
    .reset = ser_reset,
    .save = ser_save,
    .restore = ser_restore,
    .status = ser_status,
    .host_endpoint = ser_host_endpoint,
};

#define SER_STATE_FIELDS 13

static const struct vdev_descriptor ser_descriptor = {
    VDEV_DESCRIPTOR_INIT,
    .name = SER_NAME,
    .version = "1.0.0",
    .description = "16550A UART with host endpoints (stdio, pty, unix socket, file)",
    .default_space = VDEV_SPACE_PIO,
    .access_sizes = VDEV_ACCESS_SIZE(1),
    .state_size = VDEV_STATE_HEADER_SIZE(sizeof(SER_NAME) - 1) +
		  SER_STATE_FIELDS * VDEV_STATE_SIZE_U8 + 2 * VDEV_STATE_SIZE_BYTES(SER_FIFO),
    .options = ser_options,
    .option_count = sizeof(ser_options) / sizeof(ser_options[0]),
    .ops = &ser_ops,
};

VDEV_PLUGIN_ENTRY(ser_descriptor)
