/*
 * tests/unit/test_testhost.c: the SDK test host (sdk/testhost) through its
 * public header only, linked from libvdev-testhost.a as a third party would:
 * routing, lines and traces, virtual-time timers, RAM bounds, logging,
 * teardown, hooks, plugin interrupt controllers, contract checks on what
 * plugins return, fd watches, and callback serialisation across threads.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>

/* ------------------------------------------------------------ the probe */

/*
 * A device whose registers drive host services, so the test can steer it:
 * each `loc` becomes region i (length from loc, else 0x100). Reads return
 * (region << 16) | offset, except offset 0x10 which returns 0x1ff (too wide
 * for a 1-byte read, on purpose). Writes: 0x0 line_set(line 0, v),
 * 0x4 line_pulse(line 0), 0x8 msi_send(0xfee00000, v), 0xc terminate(v),
 * 0x14 counter++ (a non-atomic read-modify-write, for the lock test).
 */
struct probe {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_line *line;
	volatile unsigned counter;
};

static int probe_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
			void **dev)
{
	struct probe *p = calloc(1, sizeof(*p));
	unsigned i;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	p->host = host;
	p->h = h;
	for (i = 0; i < cfg->loc_count && rc == 0; i++)
		rc = host->region_add(h, cfg->locs[i].space, cfg->locs[i].base,
				      cfg->locs[i].length ? cfg->locs[i].length : 0x100, i);
	if (rc == 0 && cfg->intr_count)
		rc = host->intr_lookup(h, cfg->intrs[0], &p->line);
	host->log(h, VDEV_LOG_INFO, "probe up with %u regions", cfg->loc_count);
	host->log(h, VDEV_LOG_DEBUG, "debug detail");
	host->log(h, VDEV_LOG_ERROR, "an error line");
	if (rc < 0) {
		free(p);
		return rc;
	}
	*dev = p;
	return 0;
}

static void probe_destroy(void *dev)
{
	free(dev);
}

static int probe_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	*value = a->offset == 0x10 ? 0x1ff : ((uint64_t)a->region << 16) | a->offset;
	return 0;
}

static int probe_write(void *dev, const struct vdev_access *a, uint64_t value)
{
	struct probe *p = dev;
	unsigned c;

	switch (a->offset) {
	case 0x0:
		return p->host->line_set(p->h, p->line, (int)value);
	case 0x4:
		return p->host->line_pulse(p->h, p->line);
	case 0x8:
		return p->host->msi_send(p->h, 0xfee00000, (uint32_t)value);
	case 0xc:
		return p->host->terminate(p->h, (int)value) < 0 ? VDEV_ACCESS_BUS_ERROR : 0;
	case 0x14:
		c = p->counter;
		for (volatile int spin = 0; spin < 20; spin++)
			;
		p->counter = c + 1;
		return 0;
	}
	return 0;
}

static const struct vdev_ops probe_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = probe_create,
    .destroy = probe_destroy,
    .read = probe_read,
    .write = probe_write,
};

static const struct vdev_descriptor probe_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "probe",
    .version = "1",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(1) | VDEV_ACCESS_SIZE(2) | VDEV_ACCESS_SIZE(4),
    .ops = &probe_ops,
};

static struct vdev_testhost *new_host(void)
{
	struct vdev_testhost *th = vdev_testhost_new();

	assert_non_null(th);
	assert_int_equal(vdev_testhost_use(th, &probe_desc), 0);
	return th;
}

static struct probe *probe_of(struct vdev_testdev *d)
{
	return vdev_testdev_state(d);
}

/* -------------------------------------------------------------- routing */

static void test_routing(void **state)
{
	struct vdev_testhost *th = new_host();
	struct vdev_testhost_region regs[4];
	struct vdev_testdev *d, *d2;
	struct probe *p;
	uint64_t v;

	assert_int_equal(vdev_testhost_add_ram(th, 0, 0x10000), 0);
	d = vdev_testhost_create(th, &probe_desc, "loc 0x10000,0x100 loc io:0x3f8,8");
	assert_non_null(d);
	assert_int_equal(vdev_testhost_regions(d, regs, 4), 2);
	assert_int_equal(regs[0].space, VDEV_SPACE_MMIO);
	assert_int_equal(regs[0].base, 0x10000);
	assert_int_equal(regs[0].length, 0x100);
	assert_int_equal(regs[1].space, VDEV_SPACE_PIO);
	assert_int_equal(regs[1].base, 0x3f8);
	assert_int_equal(regs[1].id, 1);

	/* Offsets are relative to the region; ids are the device's. */
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10004, 4), 0x4);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x100fc, 4), 0xfc);
	assert_int_equal(vdev_testhost_pio_read(th, 0x3fd, 1), (1 << 16 | 5) & 0xff);
	assert_int_equal(vdev_testhost_pio_read(th, 0x3fd, 2), 0x0005);
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_PIO, 0x3fa, 4, &v), 0);
	assert_int_equal(v, 0x10002);

	/* Unclaimed: -ENXIO and all-ones of the access size. */
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_MMIO, 0x20000, 4, &v), -ENXIO);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10100, 2), 0xffff);
	assert_int_equal(vdev_testhost_pio_read(th, 0x3f7, 1), 0xff);
	/* Running past the region's end is unclaimed too. */
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_MMIO, 0x100fe, 4, &v), -ENXIO);
	/* A size the device did not declare. */
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_MMIO, 0x10000, 8, &v), -EINVAL);
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_MMIO, 0x10000, 3, &v), -EINVAL);

	/* Overlap with another device, or RAM, is refused at create. */
	d2 = vdev_testhost_create(th, &probe_desc, "loc 0x10080,0x100");
	assert_null(d2);
	assert_non_null(strstr(vdev_testhost_error(th), "create failed"));
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0xff00,0x200"));
	/* A failed create left nothing behind: the range is still free past RAM. */
	d2 = vdev_testhost_create(th, &probe_desc, "loc 0x10100,0x100");
	assert_non_null(d2);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10104, 4), 0x4);

	/* Direct service calls: the range checks of region_add. */
	p = probe_of(d);
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_MMIO, 0x30000, 0, 7), -EINVAL);
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_MMIO, UINT64_MAX - 0xff, 0x200, 7),
			 -EINVAL);
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_MMIO, UINT64_MAX - 0xff, 0x100, 7),
			 0);
	assert_int_equal(vdev_testhost_mmio_read(th, UINT64_MAX - 3, 4), 0xfc | (7 << 16));
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_PIO, 0xfff0, 0x20, 8), -EINVAL);
	assert_int_equal(p->host->region_add(p->h, (enum vdev_space)9, 0, 1, 8), -EINVAL);
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_MMIO, 0x40000, 0x10, 0), -EINVAL);
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_MMIO, 0x100ff, 0x10, 9), -EEXIST);
	assert_int_equal(p->host->region_add(p->h, VDEV_SPACE_MMIO, 0x8000, 0x10, 9), -EEXIST);
	assert_int_equal(p->host->region_remove(p->h, 7), 0);
	assert_int_equal(p->host->region_remove(p->h, 7), -ENOENT);
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_MMIO, UINT64_MAX - 3, 4, &v), -ENXIO);
	vdev_testhost_free(th);
}

static void test_routing_many(void **state)
{
	struct vdev_testhost *th = new_host();
	struct vdev_testdev *d = vdev_testhost_create(th, &probe_desc, "");
	struct probe *p;
	unsigned i;

	assert_non_null(d);
	p = probe_of(d);
	/* Registered out of order; lookups must still find each one. */
	for (i = 0; i < 200; i++) {
		unsigned k = (i * 37) % 200;

		assert_int_equal(
		    p->host->region_add(p->h, VDEV_SPACE_MMIO, 0x100000 + k * 0x1000, 0x800, k), 0);
	}
	for (i = 0; i < 200; i++) {
		assert_int_equal(vdev_testhost_mmio_read(th, 0x100000 + i * 0x1000 + 0x7fc, 4),
				 (i << 16) | 0x7fc);
		/* The gaps between regions are unclaimed. */
		assert_int_equal(vdev_testhost_mmio_read(th, 0x100000 + i * 0x1000 + 0x800, 4),
				 0xffffffff);
	}
	assert_int_equal(vdev_testhost_regions(d, NULL, 0), 200);
	vdev_testhost_free(th);
}

/* ---------------------------------------------------------------- lines */

static void test_lines_and_trace(void **state)
{
	struct vdev_testhost *th = new_host();
	struct vdev_testdev *d;

	assert_int_equal(vdev_testhost_add_intc(th, "pic", 16), 0);
	assert_int_equal(vdev_testhost_add_intc(th, "pic", 8), -EEXIST);
	d = vdev_testhost_create(th, &probe_desc, "loc 0x1000 intr pic:5");
	assert_non_null(d);
	assert_int_equal(vdev_testhost_line_level(th, "pic:5"), 0);

	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 1), 0);
	assert_int_equal(vdev_testhost_line_level(th, "pic:5"), 1);
	/* Repeats are filtered: no second trace line, no second edge. */
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 7), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 0), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 0), 0);
	assert_int_equal(vdev_testhost_line_level(th, "pic:5"), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1004, 4, 0), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1008, 4, 0x31), 0);
	assert_string_equal(vdev_testhost_trace(th), "pic:5 1\npic:5 0\npic:5 1\npic:5 0\n"
						     "msi 0xfee00000 0x31\n");
	assert_int_equal(vdev_testhost_line_edges(th, "pic:5"), 2);
	assert_int_equal(vdev_testhost_line_edges(th, "pic:4"), 0);
	assert_int_equal(vdev_testhost_line_level(th, "pic:16"), -ERANGE);
	assert_int_equal(vdev_testhost_line_level(th, "nope:1"), -ENOENT);
	assert_int_equal(vdev_testhost_line_level(th, "pic"), -EINVAL);

	vdev_testhost_clear_trace(th);
	assert_string_equal(vdev_testhost_trace(th), "");
	assert_int_equal(vdev_testhost_terminated(th), -1);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x100c, 4, 33), 0);
	assert_int_equal(vdev_testhost_terminated(th), 33);
	assert_string_equal(vdev_testhost_trace(th), "terminate 33\n");
	/* Not a valid cause: refused and reported. */
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x100c, 4, 7), -EIO);
	assert_int_equal(vdev_testhost_terminated(th), 33);
	assert_non_null(
	    strstr(vdev_testhost_log(th), "host: error: probe.0: terminate with cause 7"));

	/* Config errors about lines. */
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0x2000 intr pic:99"));
	assert_non_null(strstr(vdev_testhost_error(th), "create failed"));
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0x2000 intr nope:1"));
	assert_non_null(strstr(vdev_testhost_error(th), "nope"));
	vdev_testhost_free(th);
}

static void test_shared_line(void **state)
{
	struct vdev_testhost *th = new_host();

	assert_int_equal(vdev_testhost_add_intc(th, "pic", 8), 0);
	assert_non_null(vdev_testhost_create(th, &probe_desc, "loc 0x1000 intr pic:3"));
	assert_non_null(vdev_testhost_create(th, &probe_desc, "loc 0x2000 intr pic:3"));
	/* Two devices on one line: it is high while either holds it. */
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 1), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x2000, 4, 1), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 0), 0);
	assert_int_equal(vdev_testhost_line_level(th, "pic:3"), 1);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x2000, 4, 0), 0);
	assert_string_equal(vdev_testhost_trace(th), "pic:3 1\npic:3 0\n");
	vdev_testhost_free(th);
}

/* ---------------------------------------------------------------- timers */

struct timed {
	const struct vdev_host *host;
	vdev_host_t *h;
	struct vdev_timer *t[4];
	char order[256];
	uint64_t when[64];
	unsigned fired;
	unsigned rearm;	  /* re-arm timer 0 from its own callback this many times */
	int destroy_self; /* timer 1 destroys itself when it fires */
};

static void timed_fire(void *dev, void *arg)
{
	struct timed *s = dev;
	unsigned id = (unsigned)(uintptr_t)arg;
	size_t n = strlen(s->order);

	if (n + 1 < sizeof(s->order)) {
		s->order[n] = (char)('A' + id);
		s->order[n + 1] = '\0';
	}
	if (s->fired < 64)
		s->when[s->fired] = s->host->clock_ns(s->h);
	s->fired++;
	if (id == 0 && s->rearm) {
		s->rearm--;
		s->host->timer_arm(s->h, s->t[0], 5, 0);
	}
	if (id == 1 && s->destroy_self) {
		s->host->timer_destroy(s->h, s->t[1]);
		s->t[1] = NULL;
	}
}

static int timed_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
			void **dev)
{
	struct timed *s = calloc(1, sizeof(*s));
	unsigned i;

	if (!s)
		return -ENOMEM;
	s->host = host;
	s->h = h;
	for (i = 0; i < 4; i++) {
		if (host->timer_create(h, timed_fire, (void *)(uintptr_t)i, &s->t[i]) < 0) {
			free(s);
			return -ENOMEM;
		}
	}
	*dev = s;
	return 0;
}

static void timed_destroy(void *dev)
{
	free(dev); /* timers left to the host on purpose: teardown releases them */
}

static const struct vdev_ops timed_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = timed_create,
    .destroy = timed_destroy,
};

static const struct vdev_descriptor timed_desc = {
    VDEV_DESCRIPTOR_INIT, .name = "timed", .version = "1", .access_sizes = VDEV_ACCESS_SIZE(4),
    .ops = &timed_ops,
};

static void test_timers(void **state)
{
	struct vdev_testhost *th = vdev_testhost_new();
	struct vdev_testhost_usage u;
	struct vdev_testdev *d;
	struct timed *s;
	unsigned i;

	assert_int_equal(vdev_testhost_use(th, &timed_desc), 0);
	d = vdev_testhost_create(th, &timed_desc, "");
	assert_non_null(d);
	s = vdev_testdev_state(d);

	/* Order: by deadline, then by arming order. */
	assert_int_equal(s->host->timer_arm(s->h, s->t[0], 100, 0), 0);
	assert_int_equal(s->host->timer_arm(s->h, s->t[1], 50, 0), 0);
	assert_int_equal(s->host->timer_arm(s->h, s->t[2], 100, 0), 0);
	assert_int_equal(s->host->timer_arm(s->h, s->t[3], 101, 0), 0);
	vdev_testhost_advance(th, 99);
	assert_string_equal(s->order, "B");
	assert_int_equal(vdev_testhost_now(th), 99);
	vdev_testhost_advance(th, 1);
	assert_string_equal(s->order, "BAC");
	assert_int_equal(s->when[1], 100);
	vdev_testhost_advance(th, 1000);
	assert_string_equal(s->order, "BACD");
	assert_int_equal(vdev_testhost_now(th), 1100);

	/* Periodic: exact count and times in virtual time. */
	s->order[0] = '\0';
	s->fired = 0;
	assert_int_equal(s->host->timer_arm(s->h, s->t[0], 10, 10), 0);
	vdev_testhost_advance(th, 100);
	assert_int_equal(s->fired, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(s->when[i], 1100 + 10 * (i + 1));
	/* Cancel: nothing more. Re-arming replaces the period. */
	assert_int_equal(s->host->timer_cancel(s->h, s->t[0]), 0);
	vdev_testhost_advance(th, 100);
	assert_int_equal(s->fired, 10);
	assert_int_equal(s->host->timer_arm(s->h, s->t[0], 30, 30), 0);
	assert_int_equal(s->host->timer_arm(s->h, s->t[0], 50, 0), 0);
	vdev_testhost_advance(th, 1000);
	assert_int_equal(s->fired, 11);

	/* Re-arm from inside the callback: a chain at +5 each. */
	s->fired = 0;
	s->rearm = 3;
	assert_int_equal(s->host->timer_arm(s->h, s->t[0], 5, 0), 0);
	vdev_testhost_advance(th, 100);
	assert_int_equal(s->fired, 4);
	assert_int_equal(s->when[3] - s->when[0], 15);

	/* Destroy from inside the callback: no further fire, no crash. */
	s->fired = 0;
	s->destroy_self = 1;
	assert_int_equal(s->host->timer_arm(s->h, s->t[1], 1, 1), 0);
	vdev_testhost_advance(th, 100);
	assert_int_equal(s->fired, 1);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.timers, 3);

	/* Teardown with an armed timer: released, never fires again. */
	assert_int_equal(s->host->timer_arm(s->h, s->t[2], 10, 10), 0);
	vdev_testhost_destroy(d);
	vdev_testhost_advance(th, 1000);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.timers, 0);
	vdev_testhost_free(th);
}

/* ------------------------------------------------------------------ RAM */

static void test_ram(void **state)
{
	struct vdev_testhost *th = new_host();
	struct vdev_testhost_usage u;
	struct vdev_testdev *d;
	struct probe *p;
	uint8_t buf[16], *ram, *m;

	assert_int_equal(vdev_testhost_add_ram(th, 0x1000, 0x1000), 0);
	assert_int_equal(vdev_testhost_add_ram(th, 0x1800, 0x1000), -EEXIST);
	assert_int_equal(vdev_testhost_add_ram(th, 0x0, 0), -EINVAL);
	assert_int_equal(vdev_testhost_add_ram(th, 0x4000, 0x1000), 0);
	ram = vdev_testhost_ram(th, 0x1ff0, 16);
	assert_non_null(ram);
	assert_null(vdev_testhost_ram(th, 0x1ff0, 17));
	memcpy(ram, "0123456789abcdef", 16);

	d = vdev_testhost_create(th, &probe_desc, "loc 0x10000");
	assert_non_null(d);
	p = probe_of(d);
	assert_int_equal(p->host->mem_read(p->h, 0x1ff0, buf, 16), 0);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	/* One byte past the end, or in the hole between blocks: -EFAULT, untouched. */
	memset(buf, 0x55, sizeof(buf));
	assert_int_equal(p->host->mem_read(p->h, 0x1ff1, buf, 16), -EFAULT);
	assert_int_equal(buf[0], 0x55);
	assert_int_equal(p->host->mem_read(p->h, 0x3000, buf, 1), -EFAULT);
	assert_int_equal(p->host->mem_read(p->h, UINT64_MAX - 3, buf, 16), -EFAULT);
	assert_int_equal(p->host->mem_write(p->h, 0x1ffc, "WXYZ", 4), 0);
	assert_memory_equal(ram + 12, "WXYZ", 4);
	assert_int_equal(p->host->mem_write(p->h, 0x1ffd, "WXYZ", 4), -EFAULT);
	assert_memory_equal(ram + 12, "WXYZ", 4);

	m = p->host->mem_map(p->h, 0x4000, 0x1000, VDEV_MAP_READ | VDEV_MAP_WRITE);
	assert_non_null(m);
	assert_ptr_equal(m, vdev_testhost_ram(th, 0x4000, 1));
	errno = 0;
	assert_null(p->host->mem_map(p->h, 0x4000, 0x1001, VDEV_MAP_READ));
	assert_int_equal(errno, EFAULT);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.maps, 1);
	p->host->mem_unmap(p->h, m, 0x1000);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.maps, 0);
	/* An unmap of something never mapped is a contract violation, reported. */
	p->host->mem_unmap(p->h, m, 0x1000);
	assert_non_null(strstr(vdev_testhost_log(th), "host: error: probe.0: mem_unmap"));
	/* RAM and MMIO regions exclude each other. */
	assert_int_equal(vdev_testhost_add_ram(th, 0x10000, 0x1000), -EEXIST);
	vdev_testhost_free(th);
}

/* ------------------------------------------------------------------ log */

static void test_log(void **state)
{
	struct vdev_testhost *th = new_host();

	assert_non_null(vdev_testhost_create(th, &probe_desc, "loc 0x1000"));
	assert_string_equal(vdev_testhost_log(th), "probe.0: info: probe up with 1 regions\n"
						   "probe.0: debug: debug detail\n"
						   "probe.0: error: an error line\n");
	vdev_testhost_clear_log(th);
	assert_non_null(
	    vdev_testhost_create(th, &probe_desc, "loc 0x2000 name second log error stderr"));
	assert_string_equal(vdev_testhost_log(th), "second: error: an error line\n");
	vdev_testhost_clear_log(th);
	assert_non_null(vdev_testhost_create(th, &probe_desc, "loc 0x3000 log info,debug none"));
	assert_string_equal(vdev_testhost_log(th), "");
	vdev_testhost_free(th);
}

/* ---------------------------------------------------------------- errors */

static void test_create_errors(void **state)
{
	struct vdev_testhost *th = new_host();
	static const struct vdev_descriptor unused = {
	    VDEV_DESCRIPTOR_INIT, .name = "unused",
	    .version = "1",	  .access_sizes = VDEV_ACCESS_SIZE(1),
	    .ops = &probe_ops,
	};

	assert_null(vdev_testhost_create(th, &unused, ""));
	assert_non_null(strstr(vdev_testhost_error(th), "was not loaded"));
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0x1000 colour red"));
	assert_non_null(strstr(vdev_testhost_error(th), "vdev probe has no option 'colour'"));
	assert_non_null(strstr(vdev_testhost_error(th), "<options>:1:"));
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0x1000 vdev probe loc 0x2000"));
	assert_non_null(strstr(vdev_testhost_error(th), "more than the options of one vdev"));
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0x1000 ram 0x10000"));
	assert_non_null(strstr(vdev_testhost_error(th), "more than the options of one vdev"));
	assert_int_equal(vdev_testhost_load(th, "/nonexistent/vdev-x.so", NULL), -ENOENT);
	assert_non_null(strstr(vdev_testhost_error(th), "/nonexistent/vdev-x.so: cannot load"));
	vdev_testhost_free(th);
}

/* ------------------------------------------------- option arguments */

/*
 * A device with a NOARG bool between other options: its create() keeps
 * the values it received, so the test sees how the option text was split.
 */
static const char *const arity_modes[] = {"edge", "level", NULL};
static const struct vdev_option_spec arity_options[] = {
    {.name = "start",
     .type = VDEV_OPT_BOOL,
     .flags = VDEV_OPTF_NOARG,
     .default_value = "off",
     .help = "run at once"},
    {.name = "irq-mode",
     .type = VDEV_OPT_ENUM,
     .default_value = "level",
     .choices = arity_modes,
     .help = "edge or level"},
    {.name = "period", .type = VDEV_OPT_UINT, .default_value = "1", .help = "ticks"},
};

struct arity_seen {
	int start;
	unsigned start_count;
	unsigned mode;
	uint64_t period;
};

static int arity_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
			void **dev)
{
	struct arity_seen *seen = calloc(1, sizeof(*seen));

	if (!seen)
		return -ENOMEM;
	seen->start = cfg->options[0].v.b;
	seen->start_count = cfg->options[0].count;
	seen->mode = cfg->options[1].v.e;
	seen->period = cfg->options[2].v.u;
	*dev = seen;
	return 0;
}

static const struct vdev_ops arity_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = arity_create,
    .destroy = probe_destroy,
    .read = probe_read,
    .write = probe_write,
};

static const struct vdev_descriptor arity_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "arity",
    .version = "1",
    .default_space = VDEV_SPACE_MMIO,
    .access_sizes = VDEV_ACCESS_SIZE(4),
    .options = arity_options,
    .option_count = 3,
    .ops = &arity_ops,
};

/* The create of `options` must succeed; returns what the device saw. */
static struct arity_seen arity_seen_for(struct vdev_testhost *th, const char *options)
{
	struct vdev_testdev *d = vdev_testhost_create(th, &arity_desc, options);
	struct arity_seen seen;

	if (!d)
		fail_msg("create '%s': %s", options, vdev_testhost_error(th));
	seen = *(struct arity_seen *)vdev_testdev_state(d);
	vdev_testhost_destroy(d);
	return seen;
}

/* The test host asks the descriptor which options take no argument. */
static void test_noarg_option_mid_text(void **state)
{
	struct vdev_testhost *th = new_host();
	struct arity_seen s;

	assert_int_equal(vdev_testhost_use(th, &arity_desc), 0);
	s = arity_seen_for(th, "loc 0x10000 start irq-mode edge period 7");
	assert_int_equal(s.start, 1);
	assert_int_equal(s.start_count, 1);
	assert_int_equal(s.mode, 0); /* edge */
	assert_int_equal(s.period, 7);
	/* on a new line, and last */
	s = arity_seen_for(th, "start\nirq-mode edge");
	assert_int_equal(s.start, 1);
	assert_int_equal(s.mode, 0);
	s = arity_seen_for(th, "irq-mode edge start");
	assert_int_equal(s.start, 1);
	assert_int_equal(s.mode, 0);
	/* an explicit bool literal is still its value */
	s = arity_seen_for(th, "start off irq-mode edge");
	assert_int_equal(s.start, 0);
	assert_int_equal(s.start_count, 1);
	assert_int_equal(s.mode, 0);
	s = arity_seen_for(th, "start yes period 3");
	assert_int_equal(s.start, 1);
	assert_int_equal(s.period, 3);
	/* absent: the default */
	s = arity_seen_for(th, "irq-mode edge");
	assert_int_equal(s.start, 0);
	assert_int_equal(s.start_count, 0);
	/* a word that is neither an option nor a literal is an unknown option */
	assert_null(vdev_testhost_create(th, &arity_desc, "start maybe"));
	assert_non_null(strstr(vdev_testhost_error(th), "vdev arity has no option 'maybe'"));
	vdev_testhost_free(th);
}

/* -------------------------------------------------------------- teardown */

static void fd_ready(void *dev, void *arg, int fd, uint32_t events)
{
	unsigned *calls = arg;
	char c;

	if (read(fd, &c, 1) == 1)
		(*calls)++;
}

static void never_fires(void *dev, void *arg)
{
	fail_msg("a timer of a destroyed instance fired");
}

static void test_teardown_and_poll(void **state)
{
	struct vdev_testhost *th = new_host();
	struct vdev_testhost_usage u;
	struct vdev_watch *w;
	struct vdev_timer *t;
	struct vdev_testdev *d;
	unsigned calls = 0;
	struct probe *p;
	int fds[2];
	uint64_t v;

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(vdev_testhost_add_ram(th, 0, 0x1000), 0);
	assert_int_equal(vdev_testhost_add_intc(th, "pic", 8), 0);
	d = vdev_testhost_create(th, &probe_desc, "loc 0x10000 loc io:0x60,4 intr pic:1");
	assert_non_null(d);
	p = probe_of(d);
	assert_int_equal(p->host->fd_watch(p->h, fds[0], VDEV_FD_IN, fd_ready, &calls, &w), 0);
	assert_int_equal(vdev_testhost_poll(th, 0), 0);
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(vdev_testhost_poll(th, 100), 1);
	assert_int_equal(calls, 1);
	assert_int_equal(p->host->fd_modify(p->h, w, VDEV_FD_OUT | 0x800), -EINVAL);
	assert_int_equal(p->host->timer_create(p->h, never_fires, NULL, &t), 0);
	assert_int_equal(p->host->timer_arm(p->h, t, 10, 10), 0);
	assert_non_null(p->host->mem_map(p->h, 0, 16, VDEV_MAP_READ));
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x10000, 4, 1), 0);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.regions, 2);
	assert_int_equal(u.lines, 1);
	assert_int_equal(u.timers, 1);
	assert_int_equal(u.watches, 1);
	assert_int_equal(u.maps, 1);

	vdev_testhost_clear_trace(th);
	vdev_testhost_destroy(d);
	vdev_testhost_usage(th, &u);
	assert_int_equal(u.regions, 0);
	assert_int_equal(u.lines, 0);
	assert_int_equal(u.timers, 0);
	assert_int_equal(u.watches, 0);
	assert_int_equal(u.maps, 0);
	/* The line it left asserted was lowered, visibly. */
	assert_string_equal(vdev_testhost_trace(th), "pic:1 0\n");
	assert_int_equal(vdev_testhost_line_level(th, "pic:1"), 0);
	assert_int_equal(vdev_testhost_read(th, VDEV_SPACE_MMIO, 0x10000, 4, &v), -ENXIO);
	assert_int_equal(vdev_testhost_pio_read(th, 0x60, 1), 0xff);
	assert_int_equal(write(fds[1], "y", 1), 1);
	assert_int_equal(vdev_testhost_poll(th, 0), 0);
	/* A second destroy is refused, not a double free. */
	vdev_testhost_destroy(d);
	assert_non_null(strstr(vdev_testhost_error(th), "already destroyed"));
	close(fds[0]);
	close(fds[1]);
	vdev_testhost_free(th);
}

/* ----------------------------------------------------------------- hooks */

struct hook_log {
	char text[4096];
	unsigned invalid;
	struct vdev_testdev *last_dev;
};

static void hook_add(struct hook_log *l, const char *what)
{
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "%s ", what);
}

static void hook_service(void *ctx, struct vdev_testdev *dev, const char *service, bool valid)
{
	struct hook_log *l = ctx;
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%s", valid ? "" : "!", service);
	hook_add(l, buf);
	if (!valid) {
		l->invalid++;
		assert_null(dev);
	} else {
		l->last_dev = dev;
	}
}

static void hook_enter(void *ctx, struct vdev_testdev *dev, const char *cb)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "<%s", cb);
	hook_add(ctx, buf);
}

static void hook_exit(void *ctx, struct vdev_testdev *dev, const char *cb)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s>", cb);
	hook_add(ctx, buf);
}

static void test_hooks_and_graveyard(void **state)
{
	struct vdev_testhost *th = new_host();
	struct hook_log l;
	const struct vdev_testhost_hooks hooks = {
	    .service = hook_service,
	    .callback_enter = hook_enter,
	    .callback_exit = hook_exit,
	    .ctx = &l,
	};
	struct vdev_testdev *d;
	const struct vdev_host *host;
	struct vdev_line *line;
	vdev_host_t *h;

	memset(&l, 0, sizeof(l));
	assert_int_equal(vdev_testhost_add_intc(th, "pic", 8), 0);
	vdev_testhost_set_hooks(th, &hooks);
	d = vdev_testhost_create(th, &probe_desc, "loc 0x1000 intr pic:2");
	assert_non_null(d);
	assert_ptr_equal(l.last_dev, d);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 1), 0);
	(void)vdev_testhost_mmio_read(th, 0x1000, 4);
	host = probe_of(d)->host;
	h = probe_of(d)->h;
	line = probe_of(d)->line;
	vdev_testhost_destroy(d);
	assert_string_equal(l.text, "<create region_add intr_lookup log log log create> "
				    "<write line_set write> <read read> <destroy destroy> ");
	/* A late call with the destroyed handle: reported, refused, no crash. */
	l.text[0] = '\0';
	assert_int_equal(host->line_set(h, line, 0), -EINVAL);
	host->log(h, VDEV_LOG_INFO, "too late");
	assert_string_equal(l.text, "!line_set !log ");
	assert_int_equal(l.invalid, 2);
	assert_non_null(strstr(vdev_testhost_log(th), "host: error: probe: line_set called with "
						      "the handle of a destroyed instance."));
	assert_null(strstr(vdev_testhost_log(th), "too late"));
	vdev_testhost_free(th);
}

/* ------------------------------------------------- plugin controllers */

struct intc_state {
	int levels[8];
	char seen[256];
};

static int intc_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **dev)
{
	*dev = calloc(1, sizeof(struct intc_state));
	return *dev ? 0 : -ENOMEM;
}

static void intc_destroy(void *dev)
{
	free(dev);
}

static unsigned intc_lines(void *dev)
{
	return 8;
}

static void intc_set_level(void *dev, unsigned line, int level)
{
	struct intc_state *s = dev;
	size_t n = strlen(s->seen);

	s->levels[line] = level;
	snprintf(s->seen + n, sizeof(s->seen) - n, "%u=%d ", line, level);
}

static const struct vdev_ops intc_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = intc_create,
    .destroy = intc_destroy,
};

static const struct vdev_intc_ops intc_intc = {
    .struct_size = sizeof(struct vdev_intc_ops),
    .line_count = intc_lines,
    .set_level = intc_set_level,
};

static const struct vdev_descriptor intc_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "myintc",
    .version = "1",
    .flags = VDEV_F_INTC,
    .access_sizes = VDEV_ACCESS_SIZE(4),
    .ops = &intc_ops,
    .intc = &intc_intc,
};

static void test_plugin_intc(void **state)
{
	struct vdev_testhost *th = new_host();
	struct vdev_testdev *ic, *d;
	struct intc_state *s;

	assert_int_equal(vdev_testhost_use(th, &intc_desc), 0);
	ic = vdev_testhost_create(th, &intc_desc, "name ioapic0");
	assert_non_null(ic);
	s = vdev_testdev_state(ic);
	d = vdev_testhost_create(th, &probe_desc, "loc 0x1000 intr ioapic0:3");
	assert_non_null(d);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 1), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 1), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 0), 0);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1004, 4, 0), 0);
	/* The controller's set_level saw changes only, in order. */
	assert_string_equal(s->seen, "3=1 3=0 3=1 3=0 ");
	assert_string_equal(vdev_testhost_trace(th), "ioapic0:3 1\nioapic0:3 0\nioapic0:3 1\n"
						     "ioapic0:3 0\n");
	assert_int_equal(vdev_testhost_line_edges(th, "ioapic0:3"), 2);
	/* Line 8 does not exist on an 8-line controller. */
	assert_null(vdev_testhost_create(th, &probe_desc, "loc 0x2000 intr ioapic0:8"));
	/* The controller goes away first: the user's line reports it. */
	vdev_testhost_destroy(ic);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x1000, 4, 1), -EIO);
	assert_non_null(strstr(vdev_testhost_log(th), "belongs to a destroyed controller"));
	vdev_testhost_free(th);
}

/* ----------------------------------------------- checks on plugin output */

struct liar {
	int dummy;
};

static int liar_create(const struct vdev_host *host, vdev_host_t *h, const struct vdev_config *cfg,
		       void **dev)
{
	*dev = calloc(1, sizeof(struct liar));
	return *dev ? 0 : -ENOMEM;
}

static ssize_t liar_save(void *dev, void *buf, size_t cap)
{
	memset(buf, 0xab, 4);
	return 8; /* more than its state_size of 4 */
}

static const struct vdev_ops liar_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = liar_create,
    .destroy = intc_destroy,
    .save = liar_save,
};

static const struct vdev_descriptor liar_desc = {
    VDEV_DESCRIPTOR_INIT, .name = "liar",   .version = "1", .access_sizes = VDEV_ACCESS_SIZE(4),
    .state_size = 4,	  .ops = &liar_ops,
};

static char plugin_dir[PATH_MAX + 16];

static void test_good_plugin_so(void **state)
{
	struct vdev_testhost *th = vdev_testhost_new();
	const struct vdev_descriptor *desc, *again;
	struct vdev_testdev *d, *l;
	char path[2 * PATH_MAX];
	uint8_t saved[64];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/vdev-good.so", plugin_dir);
	assert_int_equal(vdev_testhost_load(th, path, &desc), 0);
	assert_int_equal(vdev_testhost_load(th, path, &again), 0);
	assert_ptr_equal(desc, again);
	assert_int_equal(vdev_testhost_add_intc(th, "pic", 8), 0);
	d = vdev_testhost_create(th, desc, "loc 0x10000 intr pic:2 period 100 pulse on");
	assert_non_null(d);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x1000c, 4), 0x600d0001);
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x10000, 4, 1), 0);
	vdev_testhost_advance(th, 1000);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10004, 4), 10);
	assert_int_equal(vdev_testhost_line_edges(th, "pic:2"), 10);
	assert_int_equal(vdev_testhost_line_level(th, "pic:2"), 0);
	assert_non_null(strstr(vdev_testhost_log(th), "good.0: debug: tick 10 at 1000\n"));
	assert_non_null(strstr(vdev_testhost_log(th), "good.0: info: created at 0x10000\n"));

	/* A read wider than its size is cut and reported. */
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10010, 1), 0xff);
	assert_non_null(strstr(vdev_testhost_log(th),
			       "host: error: good.0: read of 1 at offset 0x10 of region 0 "
			       "returned 0x1ff, wider than 1 byte(s)"));
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10010, 2), 0x1ff);

	/* Save/restore round trip. */
	assert_int_equal(vdev_testhost_write(th, VDEV_SPACE_MMIO, 0x10008, 4, 0xcafe), 0);
	assert_int_equal(vdev_testhost_save(d, saved, 8), -ENOSPC);
	n = vdev_testhost_save(d, saved, sizeof(saved));
	assert_int_equal(n, 12);
	vdev_testhost_reset(d);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10008, 4), 0);
	assert_int_equal(vdev_testhost_restore(d, saved, (size_t)n), 0);
	assert_int_equal(vdev_testhost_mmio_read(th, 0x10008, 4), 0xcafe);
	assert_int_equal(vdev_testhost_restore(d, saved, 3), -EINVAL);

	/* save() overflowing its state_size is an error, reported. */
	assert_int_equal(vdev_testhost_use(th, &liar_desc), 0);
	l = vdev_testhost_create(th, &liar_desc, "");
	assert_non_null(l);
	assert_int_equal(vdev_testhost_save(l, saved, sizeof(saved)), -EPROTO);
	assert_non_null(strstr(vdev_testhost_log(th),
			       "host: error: liar.0: save returned 8 bytes, more than its "
			       "state_size 4."));
	vdev_testhost_free(th);
}

static void test_load_by_name(void **state)
{
	struct vdev_testhost *th = vdev_testhost_new();
	const struct vdev_descriptor *by_path, *by_name;
	char path[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/vdev-good.so", plugin_dir);
	assert_int_equal(vdev_testhost_load(th, path, &by_path), 0);
	unsetenv("VDM_PLUGIN_PATH");
	assert_int_equal(vdev_testhost_load(th, "good", &by_name), -ENOENT);
	setenv("VDM_PLUGIN_PATH", "/nonexistent:", 1);
	assert_int_equal(vdev_testhost_load(th, "good", &by_name), -ENOENT);
	assert_non_null(strstr(vdev_testhost_error(th), "no vdev-good.so in /nonexistent"));
	snprintf(path, sizeof(path), "/nonexistent:%s", plugin_dir);
	setenv("VDM_PLUGIN_PATH", path, 1);
	assert_int_equal(vdev_testhost_load(th, "good", &by_name), 0);
	/* One file, loaded once. */
	assert_ptr_equal(by_name, by_path);
	assert_int_equal(vdev_testhost_load(th, "bad-abi2", &by_name), -EPROTONOSUPPORT);
	assert_non_null(
	    strstr(vdev_testhost_error(th), "built for vdev ABI 2, this host speaks 1"));
	unsetenv("VDM_PLUGIN_PATH");
	vdev_testhost_free(th);
}

/* --------------------------------------------------------------- threads */

struct hammer {
	struct vdev_testhost *th;
	unsigned n;
};

static void *hammer_run(void *arg)
{
	struct hammer *hm = arg;
	unsigned i;

	for (i = 0; i < hm->n; i++)
		vdev_testhost_write(hm->th, VDEV_SPACE_MMIO, 0x1014, 4, 0);
	return NULL;
}

static void test_serialised_callbacks(void **state)
{
	struct vdev_testhost *th = new_host();
	struct hammer hm = {th, 20000};
	struct vdev_testdev *d;
	pthread_t t[3];
	unsigned i;

	d = vdev_testhost_create(th, &probe_desc, "loc 0x1000");
	assert_non_null(d);
	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &hm), 0);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	/* The probe's increment is not atomic: only the host's per-instance
	 * lock makes the count exact. */
	assert_int_equal(probe_of(d)->counter, 3 * 20000);
	vdev_testhost_free(th);
}

/* A SELF_LOCKED device's reads may overlap: the host takes no lock. Each
 * read waits (bounded) until another thread is inside read too. */
static volatile int inside, overlapped;

static int selfl_read(void *dev, const struct vdev_access *a, uint64_t *value)
{
	int i;

	__atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2000000 && !overlapped; i++) {
		if (__atomic_load_n(&inside, __ATOMIC_SEQ_CST) > 1)
			overlapped = 1;
	}
	__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
	*value = 0;
	return 0;
}

static const struct vdev_ops selfl_ops = {
    .struct_size = sizeof(struct vdev_ops),
    .create = probe_create,
    .destroy = probe_destroy,
    .read = selfl_read,
    .write = probe_write,
};

static const struct vdev_descriptor selfl_desc = {
    VDEV_DESCRIPTOR_INIT,
    .name = "selfl",
    .version = "1",
    .flags = VDEV_F_SELF_LOCKED,
    .access_sizes = VDEV_ACCESS_SIZE(4),
    .ops = &selfl_ops,
};

static void *reader_run(void *arg)
{
	unsigned i;

	for (i = 0; i < 50 && !overlapped; i++)
		(void)vdev_testhost_mmio_read(arg, 0x1000, 4);
	return NULL;
}

static void test_self_locked(void **state)
{
	struct vdev_testhost *th = vdev_testhost_new();
	pthread_t t[2];

	assert_int_equal(vdev_testhost_use(th, &selfl_desc), 0);
	assert_non_null(vdev_testhost_create(th, &selfl_desc, "loc 0x1000"));
	overlapped = 0;
	assert_int_equal(pthread_create(&t[0], NULL, reader_run, th), 0);
	assert_int_equal(pthread_create(&t[1], NULL, reader_run, th), 0);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	assert_true(overlapped);
	vdev_testhost_free(th);
}

static int find_plugin_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(plugin_dir, sizeof(plugin_dir), "%s/plugins", exe);
	return access(plugin_dir, R_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routing),
	    cmocka_unit_test(test_routing_many),
	    cmocka_unit_test(test_lines_and_trace),
	    cmocka_unit_test(test_shared_line),
	    cmocka_unit_test(test_timers),
	    cmocka_unit_test(test_ram),
	    cmocka_unit_test(test_log),
	    cmocka_unit_test(test_create_errors),
	    cmocka_unit_test(test_noarg_option_mid_text),
	    cmocka_unit_test(test_teardown_and_poll),
	    cmocka_unit_test(test_hooks_and_graveyard),
	    cmocka_unit_test(test_plugin_intc),
	    cmocka_unit_test(test_good_plugin_so),
	    cmocka_unit_test(test_load_by_name),
	    cmocka_unit_test(test_serialised_callbacks),
	    cmocka_unit_test(test_self_locked),
	};

	if (find_plugin_dir() < 0) {
		printf("SKIP: test plugins not found next to the executable\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
