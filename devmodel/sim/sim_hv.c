/*
 * devmodel/sim/sim_hv.c: the simulated hypervisor: posts ioreqs like Xen,
 * checks the device model's side of the protocol, and plays guest scripts.
 *
 * What it copies from Xen 4.17 (reference/xen-ioreq.md):
 *  - the slot body is written while the state is NONE, then a release fence,
 *    then state = READY (1.4, 1.5);
 *  - after the answer: acquire fence, read data, state = NONE;
 *  - a state that moves backwards between non-NONE values, a value above 3,
 *    or NONE written by the device model crash the domain on Xen (1.4);
 *  - rep requests are cut at MMIO page boundaries and so that the RAM buffer
 *    stays in one page, a single straddling item goes alone (3.1);
 *  - PCI configuration addresses are encoded as (sbdf << 32) | reg (1.2);
 *  - INVALIDATE is {type 8, size 4, write, data ~0, count 0} (1.6).
 */
#include "devmodel/sim/sim_hv.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(ioreq_t) == 32, "ioreq_t is 32 bytes on every architecture");
#define SLOT_STATE_BYTE 30 /* state:4 | data_is_ptr | dir | df | pad */

static uint8_t slot_state(ioreq_t *slot)
{
	return __atomic_load_n((uint8_t *)slot + SLOT_STATE_BYTE, __ATOMIC_ACQUIRE) & 0x0f;
}

static void slot_set_state(ioreq_t *slot, uint8_t state)
{
	uint8_t *b = (uint8_t *)slot + SLOT_STATE_BYTE;
	uint8_t v = __atomic_load_n(b, __ATOMIC_RELAXED);

	__atomic_store_n(b, (uint8_t)((v & 0xf0) | state), __ATOMIC_RELEASE);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int why_set(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

int sim_hv_post(struct sim_domain *d, unsigned vcpu, ioreq_t *req, char *why, size_t whylen)
{
	ioreq_t *slot;
	uint8_t seen = STATE_IOREQ_READY, state;
	uint64_t deadline, counter;
	uint32_t port;

	if (vcpu >= d->vcpu_count)
		return why_set(why, whylen, "no vCPU %u (the domain has %u)", vcpu, d->vcpu_count);
	slot = &d->iopage->vcpu_ioreq[vcpu];
	port = slot->vp_eport;
	if (slot_state(slot) != STATE_IOREQ_NONE)
		return why_set(why, whylen, "device model set bad IO state %u on vCPU %u",
			       slot_state(slot), vcpu);
	if (port != vcpu + 1)
		return why_set(why, whylen, "bad event channel: vp_eport changed to %u", port);

	/* The body first, state NONE; then publish with a release store. */
	slot->addr = req->addr;
	slot->data = req->data;
	slot->count = req->count;
	slot->size = req->size;
	slot->type = req->type;
	slot->dir = req->dir;
	slot->df = req->df;
	slot->data_is_ptr = req->data_is_ptr;
	atomic_thread_fence(memory_order_release);
	slot_set_state(slot, STATE_IOREQ_READY);
	counter = 1;
	if (write(d->to_dm[vcpu], &counter, sizeof(counter)) != sizeof(counter))
		return why_set(why, whylen, "cannot notify vCPU %u's port: %s", vcpu,
			       strerror(errno));

	/*
	 * Wait like Xen's wait_for_io: look at the state on every wake-up and
	 * at least every millisecond, so that a backwards step between two
	 * notifications is seen too.
	 */
	deadline = now_ms() + d->timeout_ms;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = d->to_hv[vcpu], .events = POLLIN},
					{.fd = d->stop_fd, .events = POLLIN}};
		state = slot_state(slot);
		if (state > STATE_IORESP_READY)
			return why_set(why, whylen, "weird HVM iorequest state %u on vCPU %u",
				       state, vcpu);
		if (state == STATE_IOREQ_NONE)
			return why_set(
			    why, whylen,
			    "the device model wrote state NONE on vCPU %u (only Xen may)", vcpu);
		if (state < seen)
			return why_set(why, whylen,
				       "weird HVM ioreq state transition %u -> %u on vCPU %u", seen,
				       state, vcpu);
		seen = state;
		if (state == STATE_IORESP_READY)
			break;
		if (now_ms() > deadline) {
			snprintf(why, whylen,
				 "the device model did not answer within %u ms (state %u)",
				 d->timeout_ms, state);
			return -ETIMEDOUT;
		}
		if (poll(pfd, 2, 1) > 0) {
			uint64_t ignored;
			if (pfd[1].revents) {
				snprintf(why, whylen, "the VM stopped while vCPU %u waited", vcpu);
				return -ECANCELED;
			}
			if (read(d->to_hv[vcpu], &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
				return why_set(why, whylen, "event channel read: %s",
					       strerror(errno));
		}
	}
	atomic_thread_fence(memory_order_acquire);
	if (slot->vp_eport != port)
		return why_set(why, whylen, "the device model wrote vp_eport (%u -> %u)", port,
			       slot->vp_eport);
	/* Xen takes back only data, and only for reads without a pointer. */
	if (req->dir == IOREQ_READ && !req->data_is_ptr) {
		uint64_t data = slot->data;
		if (req->size < 8 && (data >> (req->size * 8)))
			return why_set(why, whylen,
				       "read of size %u answered 0x%" PRIx64
				       ": bits above the size must be zero",
				       req->size, data);
		req->data = data;
	}
	slot_set_state(slot, STATE_IOREQ_NONE);
	/* drain a notification that raced with our last look at the state */
	uint64_t ignored;
	if (read(d->to_hv[vcpu], &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
		return why_set(why, whylen, "event channel read: %s", strerror(errno));
	return 0;
}

int sim_hv_post_buffered(struct sim_domain *d, uint8_t type, uint64_t addr, unsigned size,
			 uint64_t data)
{
	buffered_iopage_t *pg = d->bufpage;
	unsigned qw = size == 8;
	uint32_t rp, wp;
	buf_ioreq_t bp = {0};
	uint64_t counter = 1;

	if (addr > 0xfffff)
		return -EINVAL;
	switch (size) {
	case 1:
		bp.size = 0;
		break;
	case 2:
		bp.size = 1;
		break;
	case 4:
		bp.size = 2;
		break;
	case 8:
		bp.size = 3;
		break;
	default:
		return -EINVAL;
	}
	bp.type = type;
	bp.dir = IOREQ_WRITE;
	bp.addr = (uint32_t)addr;
	bp.data = (uint32_t)data;
	rp = __atomic_load_n(&pg->read_pointer, __ATOMIC_ACQUIRE);
	wp = pg->write_pointer;
	if (wp - rp >= IOREQ_BUFFER_SLOT_NUM - qw)
		return -EAGAIN;
	pg->buf_ioreq[wp % IOREQ_BUFFER_SLOT_NUM] = bp;
	if (qw) {
		bp.data = (uint32_t)(data >> 32);
		pg->buf_ioreq[(wp + 1) % IOREQ_BUFFER_SLOT_NUM] = bp;
	}
	__atomic_store_n(&pg->write_pointer, wp + qw + 1, __ATOMIC_RELEASE);
	if (write(d->buf_to_dm, &counter, sizeof(counter)) != sizeof(counter))
		return -errno;
	return 0;
}

int sim_hv_control(struct sim_domain *d, const struct sim_msg *msg, struct sim_reply *reply)
{
	struct pollfd pfd[2] = {{.fd = d->control_hv, .events = POLLIN},
				{.fd = d->stop_fd, .events = POLLIN}};
	ssize_t n;

	if (send(d->control_hv, msg, sizeof(*msg), MSG_NOSIGNAL) != (ssize_t)sizeof(*msg))
		return -errno;
	n = poll(pfd, 2, (int)d->timeout_ms);
	if (n <= 0)
		return n == 0 ? -ETIMEDOUT : -errno;
	if (!pfd[0].revents)
		return -ECANCELED;
	n = recv(d->control_hv, reply, sizeof(*reply), 0);
	if (n != (ssize_t)sizeof(*reply))
		return n < 0 ? -errno : -EPROTO;
	return 0;
}

/* ------------------------------------------------------------ scripts */

struct script_run {
	struct sim_domain *d;
	const struct vms_script *script;
	const struct vms_step *step;
	FILE *out;
	unsigned vcpu;
};

static int step_fail(struct script_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int step_fail(struct script_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->step)
		fprintf(r->out, "%s:%u: FAIL: %s: ", r->script->file, r->step->line, r->step->text);
	else
		fprintf(r->out, "%s: FAIL: ", r->script->file);
	va_start(ap, fmt);
	vfprintf(r->out, fmt, ap);
	va_end(ap);
	fputc('\n', r->out);
	return -1;
}

static uint8_t ioreq_type(enum vdev_space space)
{
	switch (space) {
	case VDEV_SPACE_PIO:
		return IOREQ_TYPE_PIO;
	case VDEV_SPACE_PCICFG:
		return IOREQ_TYPE_PCI_CONFIG;
	default:
		return IOREQ_TYPE_COPY;
	}
}

/* VDEV_PCICFG_ADDR (ECAM-like) -> Xen's (sbdf << 32) | reg, segment 0. */
static uint64_t xen_pci_addr(uint64_t a)
{
	uint64_t bus = (a >> 20) & 0xff, dev = (a >> 15) & 0x1f, fn = (a >> 12) & 7;

	return ((bus << 8 | dev << 3 | fn) << 32) | (a & 0xfff);
}

static int post(struct script_run *r, ioreq_t *req)
{
	char why[256];
	int rc = sim_hv_post(r->d, r->vcpu, req, why, sizeof(why));

	if (rc < 0)
		return step_fail(r, "%s", why);
	return 0;
}

static int run_single(struct script_run *r)
{
	const struct vms_step *s = r->step;
	ioreq_t req = {
	    .type = ioreq_type(s->space),
	    .addr = s->space == VDEV_SPACE_PCICFG ? xen_pci_addr(s->addr) : s->addr,
	    .size = s->size,
	    .count = 1,
	    .dir = s->op == VMS_READ ? IOREQ_READ : IOREQ_WRITE,
	    /* Xen starts a read with data ~0; a write carries the register as is */
	    .data = s->op == VMS_READ ? ~0ull : s->value,
	};

	if (post(r, &req) < 0)
		return -1;
	if (s->op == VMS_READ && s->has_expect && (req.data & s->mask) != (s->value & s->mask))
		return step_fail(r,
				 "expected 0x%" PRIx64 ", read 0x%" PRIx64 " (mask 0x%" PRIx64 ")",
				 s->value & s->mask, req.data & s->mask, s->mask);
	return 0;
}

/*
 * rep forms, cut the way Xen cuts them: an MMIO rep never crosses an MMIO
 * page, a RAM buffer never crosses a RAM page, and a single item that
 * straddles a page goes alone.
 */
static uint32_t items_in_page(uint64_t first, unsigned size, bool df, uint32_t left)
{
	uint64_t room = df ? (first & 0xfff) / size + 1 : (0x1000 - (first & 0xfff)) / size;

	if (room == 0)
		room = 1; /* a straddling item */
	return room < left ? (uint32_t)room : left;
}

static int run_rep(struct script_run *r)
{
	const struct vms_step *s = r->step;
	uint64_t dev = s->addr, ram = s->gpa;
	uint32_t left = s->count;

	while (left) {
		uint32_t n = left;
		if (s->space == VDEV_SPACE_MMIO)
			n = items_in_page(dev, s->size, s->df, n);
		if (s->op != VMS_REP_STOS)
			n = items_in_page(ram, s->size, s->df, n);
		ioreq_t req = {
		    .type = ioreq_type(s->space),
		    .addr = dev,
		    .size = s->size,
		    .count = n,
		    .dir = s->op == VMS_REP_READ ? IOREQ_READ : IOREQ_WRITE,
		    .df = s->df,
		    .data_is_ptr = s->op != VMS_REP_STOS,
		    .data = s->op == VMS_REP_STOS ? s->value : ram,
		};
		if (post(r, &req) < 0)
			return -1;
		uint64_t step = (uint64_t)n * s->size;
		if (s->space != VDEV_SPACE_PIO)
			dev = s->df ? dev - step : dev + step;
		ram = s->df ? ram - step : ram + step;
		left -= n;
	}
	return 0;
}

static int control(struct script_run *r, uint32_t op, uint64_t arg, const char *name,
		   struct sim_reply *reply)
{
	struct sim_msg msg = {.op = op, .line = r->step ? r->step->line : 0, .arg = arg};
	int rc;

	if (name)
		snprintf(msg.name, sizeof(msg.name), "%s", name);
	rc = sim_hv_control(r->d, &msg, reply);
	if (rc == -ECANCELED) {
		/* the VM was stopped (a signal, quit): not the script's failure */
		fprintf(r->out, "%s:%u: stopped: the VM was ended by the host\n", r->script->file,
			r->step ? r->step->line : 0);
		return -1;
	}
	if (rc < 0)
		return step_fail(r, "the device model did not answer a control message: %s",
				 strerror(-rc));
	return 0;
}

static int run_step(struct script_run *r)
{
	const struct vms_step *s = r->step;
	struct sim_reply rep;
	uint8_t *p;

	switch (s->op) {
	case VMS_VCPU:
		if (s->value >= r->d->vcpu_count)
			return step_fail(r, "the VM has %u vCPUs", r->d->vcpu_count);
		r->vcpu = (unsigned)s->value;
		return 0;
	case VMS_WRITE:
	case VMS_READ:
		return run_single(r);
	case VMS_REP_WRITE:
	case VMS_REP_READ:
	case VMS_REP_STOS:
		return run_rep(r);
	case VMS_FILL:
	case VMS_CHECK:
		p = sim_domain_ram(r->d, s->addr, s->byte_count);
		if (!p)
			return step_fail(r, "[0x%" PRIx64 ", +%zu) is not guest RAM", s->addr,
					 s->byte_count);
		if (s->op == VMS_FILL) {
			memcpy(p, s->bytes, s->byte_count);
			return 0;
		}
		for (size_t i = 0; i < s->byte_count; i++)
			if (p[i] != s->bytes[i])
				return step_fail(
				    r, "guest RAM at 0x%" PRIx64 " is 0x%02x, expected 0x%02x",
				    s->addr + i, p[i], s->bytes[i]);
		return 0;
	case VMS_LINE:
	case VMS_EDGES:
		if (control(r, SIM_MSG_LINE, 0, s->line_name, &rep) < 0)
			return -1;
		if (rep.status < 0)
			return step_fail(r, "no interrupt line %s: %s", s->line_name,
					 strerror((int)-rep.status));
		if (s->op == VMS_LINE && rep.a != s->value)
			return step_fail(r, "%s is at level %" PRIu64 ", expected %" PRIu64,
					 s->line_name, rep.a, s->value);
		if (s->op == VMS_EDGES && rep.b != s->value)
			return step_fail(r, "%s had %" PRIu64 " rising edges, expected %" PRIu64,
					 s->line_name, rep.b, s->value);
		return 0;
	case VMS_MSI:
	case VMS_NO_MSI:
		if (control(r, SIM_MSG_MSI, 0, NULL, &rep) < 0)
			return -1;
		if (s->op == VMS_NO_MSI)
			return rep.status == 0 ? 0
					       : step_fail(r,
							   "an MSI is pending: address 0x%" PRIx64
							   " data 0x%" PRIx64,
							   rep.a, rep.b);
		if (rep.status != 1)
			return step_fail(r, "no MSI was sent");
		if (rep.a != s->addr || rep.b != s->value)
			return step_fail(r,
					 "MSI address 0x%" PRIx64 " data 0x%" PRIx64
					 ", expected 0x%" PRIx64 " 0x%" PRIx64,
					 rep.a, rep.b, s->addr, s->value);
		return 0;
	case VMS_WAIT:
		if (control(r, SIM_MSG_WAIT, s->value, NULL, &rep) < 0)
			return -1;
		return rep.status < 0 ? step_fail(r, "wait failed: %s", strerror((int)-rep.status))
				      : 0;
	case VMS_INVALIDATE: {
		ioreq_t req = {.type = IOREQ_TYPE_INVALIDATE,
			       .size = 4,
			       .dir = IOREQ_WRITE,
			       .data = ~0ull,
			       .count = 0};
		return post(r, &req);
	}
	case VMS_EXIT:
		if (control(r, SIM_MSG_STATUS, 0, NULL, &rep) < 0)
			return -1;
		if (rep.status < 0)
			return step_fail(r, "the VM is still running");
		if ((uint64_t)rep.status != s->value)
			return step_fail(r, "the VM ended with %" PRId64 ", expected %" PRIu64,
					 rep.status, s->value);
		return 0;
	}
	return step_fail(r, "unknown step");
}

int sim_hv_run_script(struct sim_domain *d, const struct vms_script *script, FILE *out)
{
	struct script_run r = {.d = d, .script = script, .out = out};
	struct sim_reply rep;
	int result = 0;

	for (unsigned i = 0; i < script->step_count; i++) {
		r.step = &script->steps[i];
		if (run_step(&r) < 0) {
			result = 1;
			break;
		}
	}
	fflush(out);
	r.step = NULL;
	if (control(&r, SIM_MSG_DONE, (uint64_t)result, NULL, &rep) < 0)
		result = 1;
	return result;
}
