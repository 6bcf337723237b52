/*
 * tests/xen/test_xen.c: the xen backend against the Xen library test
 * double (tests/xen/xen_double.c): the whole backend (setup, run, stop,
 * teardown through vm_assemble/vm_run/vm_free) attaches to a simulated
 * domain, and the double's call log is checked against xen-ioreq.md 7.
 *
 * The "guest" is this test's main thread posting ioreqs into the page as
 * Xen does; the devices are iomap owners of the test (the backend maps
 * whatever vdev regions the iomap holds, plugins or not).
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "devmodel/backend.h"
#include "devmodel/dump.h"
#include "devmodel/exitcode.h"
#include "devmodel/guest_mem.h"
#include "devmodel/iomap.h"
#include "devmodel/irq.h"
#include "devmodel/vm.h"
#include "devmodel/snapshot.h"
#include "devmodel/xen/xen_backend.h"
#include "devmodel/xl/xl_mode.h"
#include "tests/xen/xen_double.h"

/* SHUTDOWN_* of xen/sched.h (this test includes no Xen header) */
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot	  1

#define DOMID 7
#define T_MS  5000

/* ------------------------------------------------------ a test device */

struct tdev_access {
	enum vdev_space space;
	uint32_t id;
	uint64_t offset, value;
	unsigned size;
	bool is_write;
	int32_t vcpu;
};

static struct {
	pthread_mutex_t lock;
	struct tdev_access log[256];
	unsigned n;
	struct vm *vm;
	bool bar_added;
} tdev = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const struct iomap_owner tdev_owner;
static const struct iomap_owner bar_owner;

#define BAR_REG 0x10
#define BAR_LEN 0x1000

static int tdev_access_fn(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			  unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	pthread_mutex_lock(&tdev.lock);
	if (tdev.n < 256)
		tdev.log[tdev.n++] = (struct tdev_access){ space, id, offset,
							   is_write ? *value : 0, size, is_write,
							   vcpu };
	pthread_mutex_unlock(&tdev.lock);
	if (!is_write) {
		/* more bits than any access is wide: the backend must cut them */
		*value = 0xdeadbeefcafe0000ull | (offset & 0xffff);
		return 0;
	}
	/* a BAR: writing its register moves a region, as PCI devices do */
	if (space == VDEV_SPACE_PCICFG && offset == BAR_REG) {
		struct iomap *m = vm_iomap(tdev.vm);

		if (tdev.bar_added)
			iomap_remove(m, &bar_owner, 0);
		tdev.bar_added = *value != 0 &&
				 iomap_add(m, VDEV_SPACE_MMIO, *value, BAR_LEN, &bar_owner, 0, NULL) == 0;
	}
	return 0;
}

static const struct iomap_owner tdev_owner = { .name = "tdev",
					       .access = tdev_access_fn,
					       .access_sizes = VDEV_ACCESS_SIZES_ALL };
static const struct iomap_owner bar_owner = { .name = "tdev-bar",
					      .access = tdev_access_fn,
					      .access_sizes = VDEV_ACCESS_SIZES_ALL };

static struct tdev_access tdev_last(void)
{
	struct tdev_access a = { 0 };

	pthread_mutex_lock(&tdev.lock);
	if (tdev.n)
		a = tdev.log[tdev.n - 1];
	pthread_mutex_unlock(&tdev.lock);
	return a;
}

/* ---------------------------------------------------------- a VM run */

struct run {
	struct conf_diag *diag;
	struct conf_vm *conf;
	struct vm *vm;
	pthread_t thread;
	int code;
	bool running;
};

static void *run_thread(void *arg)
{
	struct run *r = arg;

	r->code = vm_run(r->vm);
	return NULL;
}

static void tunables_default(void)
{
	xen_backend_tunables.privcmd_path = "/dev/null"; /* "this is a Xen host" */
	xen_backend_tunables.force_arm = false;
	xen_backend_tunables.wait_ms = 200;
	xen_backend_tunables.poll_ms = 50;
	xen_backend_tunables.restrict_after_setup = false;
	/* --restrict would setuid() the whole test process: keep the user */
	xen_backend_tunables.user = NULL;
	xen_backend_tunables.mapcache =
		(struct xen_mapcache_params){ .bucket_shift = 16, .max_buckets = 2, .grace_ns = 0 };
}

/* What a test adds to the VM options (libxl's device-model protocol); reset per test. */
static struct vm_options run_extra;

/* Parse, assemble (setup attaches to the double's domain); 0 or vm_assemble's code. */
static int run_assemble(struct run *r, const char *text)
{
	struct vm_options opts = {.backend = backend_find("xen"),
				  .backend_name = "xen",
				  .domid = DOMID,
				  .ready = run_extra.ready,
				  .ready_ctx = run_extra.ready_ctx,
				  .xen_dm_state = run_extra.xen_dm_state,
				  .xen_stay_after_shutdown = run_extra.xen_stay_after_shutdown,
				  .shut_down = run_extra.shut_down,
				  .xen_decline_qdisk = run_extra.xen_decline_qdisk};

	memset(r, 0, sizeof(*r));
	assert_non_null(opts.backend);
	r->diag = conf_diag_new(stderr);
	r->conf = conf_parse_string(text, "test.vmconf", &(struct conf_env){ 0 }, r->diag);
	assert_non_null(r->conf);
	r->vm = vm_new(r->conf, &opts);
	assert_non_null(r->vm);
	tdev.vm = r->vm;
	tdev.n = 0;
	tdev.bar_added = false;
	return vm_assemble(r->vm, r->diag);
}

/* The test device's regions: two adjacent MMIO windows, ports, one PCI function. */
static void run_add_devices(struct run *r, bool with_pio_pci)
{
	struct iomap *m = vm_iomap(r->vm);

	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0xfe000000, 0x1000, &tdev_owner, 1, NULL), 0);
	assert_int_equal(iomap_add(m, VDEV_SPACE_MMIO, 0xfe001000, 0x1000, &tdev_owner, 2, NULL), 0);
	if (with_pio_pci) {
		assert_int_equal(iomap_add(m, VDEV_SPACE_PIO, 0x3f8, 8, &tdev_owner, 3, NULL), 0);
		assert_int_equal(iomap_add(m, VDEV_SPACE_PCICFG, VDEV_PCICFG_ADDR(0, 3, 0, 0),
					   0x1000, &tdev_owner, 4, NULL),
				 0);
	}
}

static void run_start(struct run *r, unsigned vcpus)
{
	assert_int_equal(pthread_create(&r->thread, NULL, run_thread, r), 0);
	r->running = true;
	/* attached once every vCPU's port is bound */
	for (int i = 0; i < T_MS && xd_count("bind_interdomain") < vcpus; i++)
		usleep(1000);
	assert_int_equal(xd_count("bind_interdomain"), vcpus);
}

static int run_join(struct run *r)
{
	if (r->running)
		pthread_join(r->thread, NULL);
	r->running = false;
	return r->code;
}

static void run_free(struct run *r)
{
	vm_free(r->vm);
	conf_vm_free(r->conf);
	conf_diag_free(r->diag);
	r->vm = NULL;
}

static void double_start(enum xd_guest guest, unsigned vcpus)
{
	struct xd_config cfg = { .domid = DOMID, .vcpus = vcpus, .guest = guest,
				 .ram_start = 0, .ram_size = 2 << 20 };

	tunables_default();
	memset(&run_extra, 0, sizeof(run_extra));
	xd_reset(&cfg);
}

static ioreq_t ioreq(uint8_t type, uint8_t dir, uint64_t addr, uint32_t size, uint64_t data)
{
	ioreq_t r = { .addr = addr, .data = data, .count = 1, .size = size, .type = type };

	r.dir = dir;
	return r;
}

static int idx(const char *name)
{
	int i = xd_find(name, 0);

	if (i < 0) {
		xd_dump();
		fail_msg("no call %s", name);
	}
	return i;
}

#define assert_before(a, b)                                                                        \
	do {                                                                                       \
		if (!((a) < (b))) {                                                                \
			xd_dump();                                                                 \
			fail_msg("%s (%d) is not before %s (%d)", #a, (a), #b, (b));                \
		}                                                                                  \
	} while (0)

/* ---------------------------------------------------------------- tests */

/* The x86 HVM attach sequence, requests of every space, interrupts, SIGTERM teardown. */
static void test_hvm_sequence_and_sigterm(void **state)
{
	struct run r;
	ioreq_t q;
	struct vdev_line *isa4, *pci13, *msi41;
	int mapped_ranges;

	double_start(XD_HVM, 2);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, true);
	run_start(&r, 2);

	/* section 7: create (buffering off) -> map_resource(frame 1, 1) -> ranges -> enable -> bind */
	assert_int_equal(xd_call_at(idx("create_ioreq_server"))->a[1], 0);
	assert_int_equal(xd_call_at(idx("map_resource"))->a[3], 1);
	assert_int_equal(xd_call_at(idx("map_resource"))->a[4], 1);
	assert_before(idx("xendevicemodel_open"), idx("create_ioreq_server"));
	assert_before(idx("create_ioreq_server"), idx("map_resource"));
	assert_before(idx("map_resource"), idx("map_io_range"));
	assert_before(idx("map_resource"), idx("set_ioreq_server_state"));
	assert_before(xd_find_last("map_io_range"), idx("set_ioreq_server_state"));
	assert_before(idx("map_pcidev"), idx("set_ioreq_server_state"));
	assert_before(idx("set_ioreq_server_state"), idx("bind_interdomain"));
	assert_int_equal(xd_call_at(idx("set_ioreq_server_state"))->a[2], 1);
	/* ports read after enabling: Xen's 100 + vcpu, never 0 */
	assert_int_equal(xd_call_at(xd_find("bind_interdomain", 0))->a[1], 100);
	assert_int_equal(xd_call_at(xd_find_last("bind_interdomain"))->a[1], 101);
	/* ranges: adjacent windows merged, inclusive ends; ports; the PCI function */
	assert_true(xd_has_range(1, 0xfe000000, 0xfe001fff));
	assert_true(xd_has_range(0, 0x3f8, 0x3ff));
	assert_true(xd_has_range(2, 3 << 3, 3 << 3));
	assert_false(xd_has_range(1, 0, (2 << 20) - 1)); /* RAM is Xen's */
	/* CONFIG_ADDRESS, for Linux's conf1 probe (backend.h pci_config_address) */
	assert_true(xd_has_range(0, 0xcf8, 0xcfb));
	assert_false(xd_has_range(0, 0xcfc, 0xcff)); /* CONFIG_DATA is Xen's */
	assert_int_equal(xd_range_count(), 4);
	mapped_ranges = (int)xd_count("map_io_range");

	/* the latch reads back (4-byte accesses only, as pci_check_type1 does) */
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_WRITE, 0xcf8, 4, 0x80001808);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_READ, 0xcf8, 4, 0);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(q.data, 0x80001808);
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_READ, 0xcf8, 1, 0);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(q.data, 0xff);

	/* MMIO read on vCPU 1: offset in the second window, zero-extended to 4 bytes */
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe001010, 4, 0);
	assert_int_equal(xd_post(1, &q, T_MS), 0);
	assert_int_equal(q.data, 0xcafe0010);
	assert_int_equal(tdev_last().id, 2);
	assert_int_equal(tdev_last().vcpu, 1);
	/* port write, data masked to its size */
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_WRITE, 0x3f9, 1, 0x1234);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_true(tdev_last().is_write);
	assert_int_equal(tdev_last().offset, 1);
	assert_int_equal(tdev_last().value, 0x34);
	/* PCI config read of 00:03.0 reg 8: addr = sbdf << 32 | reg */
	q = ioreq(IOREQ_TYPE_PCI_CONFIG, IOREQ_READ, (uint64_t)(3 << 3) << 32 | 8, 2, 0);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(tdev_last().space, VDEV_SPACE_PCICFG);
	assert_int_equal(tdev_last().offset, 8);
	assert_int_equal(q.data, 0x0008);

	/* HVM interrupts: ISA line, PCI INTx (slot 3 INTB), MSI vector line, MSI sink */
	assert_int_equal(irq_line_get(vm_irq(r.vm), "isa:4", &isa4), 0);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "pci:13", &pci13), 0);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "msi:0x41", &msi41), 0);
	irq_line_set(vm_irq(r.vm), isa4, 1);
	assert_int_equal(xd_call_at(xd_find_last("set_isa_irq_level"))->a[1], 4);
	assert_int_equal(xd_call_at(xd_find_last("set_isa_irq_level"))->a[2], 1);
	irq_line_set(vm_irq(r.vm), isa4, 0);
	assert_int_equal(xd_call_at(xd_find_last("set_isa_irq_level"))->a[2], 0);
	irq_line_set(vm_irq(r.vm), pci13, 1);
	assert_int_equal(xd_call_at(xd_find_last("set_pci_intx_level"))->a[1], 3);
	assert_int_equal(xd_call_at(xd_find_last("set_pci_intx_level"))->a[2], 1);
	assert_int_equal(xd_call_at(xd_find_last("set_pci_intx_level"))->a[3], 1);
	irq_line_pulse(vm_irq(r.vm), msi41);
	assert_int_equal(xd_call_at(xd_find_last("inject_msi"))->a[1], 0xfee00000);
	assert_int_equal(xd_call_at(xd_find_last("inject_msi"))->a[2], 0x41);
	assert_int_equal(irq_msi_send(vm_irq(r.vm), 0xfee01000, 0x4052), 0);
	assert_int_equal(xd_call_at(xd_find_last("inject_msi"))->a[1], 0xfee01000);
	assert_int_equal(xd_call_at(xd_find_last("inject_msi"))->a[2], 0x4052);
	assert_int_equal(xd_count("set_irq_level"), 0);
	irq_line_put(vm_irq(r.vm), isa4);
	irq_line_put(vm_irq(r.vm), pci13);
	irq_line_put(vm_irq(r.vm), msi41);

	/* SIGTERM, as systemd sends it: run ends with 0 */
	kill(getpid(), SIGTERM);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);

	/* teardown: disabled, every range unmapped, server destroyed, nothing left */
	assert_before(xd_find_last("bind_interdomain"), xd_find_last("set_ioreq_server_state"));
	assert_int_equal(xd_call_at(xd_find_last("set_ioreq_server_state"))->a[2], 0);
	assert_int_equal((int)xd_count("unmap_io_range"), mapped_ranges);
	assert_int_equal(xd_count("unmap_pcidev"), 1);
	assert_before(xd_find_last("unmap_io_range"), idx("destroy_ioreq_server"));
	assert_before(idx("unmap_resource"), idx("destroy_ioreq_server"));
	assert_int_equal(xd_count("unbind"), 2);
	assert_int_equal(xd_count("destroy_ioreq_server"), 1);
	assert_false(xd_server_exists());
	assert_int_equal(xd_range_count(), 0);
	assert_int_equal(xd_ram_mappings(), 0);
	assert_int_equal(xd_count("xenevtchn_close"), 1);
	assert_int_equal(xd_count("xendevicemodel_close"), 1);
}

/* A BAR write moves a region: the server knows before the write is answered. */
static void test_bar_move_resyncs_ranges(void **state)
{
	struct run r;
	ioreq_t q;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, true);
	run_start(&r, 1);
	assert_false(xd_has_range(1, 0xe0000000, 0xe0000fff));
	q = ioreq(IOREQ_TYPE_PCI_CONFIG, IOREQ_WRITE, (uint64_t)(3 << 3) << 32 | BAR_REG, 4,
		  0xe0000000);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_true(xd_has_range(1, 0xe0000000, 0xe0000fff));
	/* and the guest reaches it at once */
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xe0000004, 4, 0);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(q.data, 0xcafe0004);
	/* moved again: the old range goes, the new one comes */
	q = ioreq(IOREQ_TYPE_PCI_CONFIG, IOREQ_WRITE, (uint64_t)(3 << 3) << 32 | BAR_REG, 4,
		  0xe0100000);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_false(xd_has_range(1, 0xe0000000, 0xe0000fff));
	assert_true(xd_has_range(1, 0xe0100000, 0xe0100fff));
	vm_stop(r.vm, 0);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_int_equal(xd_range_count(), 0);
	assert_int_equal(xd_count("map_io_range"), xd_count("unmap_io_range"));
}

/* rep I/O through guest RAM, refusal outside RAM, the bounded cache, INVALIDATE. */
static void test_guest_ram_cache_invalidate(void **state)
{
	struct run r;
	uint8_t *ram;
	unsigned maps;
	ioreq_t q;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, true);
	run_start(&r, 1);
	ram = xd_ram();
	memcpy(ram + 0x1000, "\x11\x22\x33\x44", 4);

	/* rep outsb: 4 bytes from RAM 0x1000 to port 0x3f8 */
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_WRITE, 0x3f8, 1, 0x1000);
	q.count = 4;
	q.data_is_ptr = 1;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(tdev.n, 4);
	assert_int_equal(tdev.log[0].value, 0x11);
	assert_int_equal(tdev.log[3].value, 0x44);
	assert_int_equal(xd_ram_mappings(), 1);
	/* rep movs MMIO -> RAM at 0x20000: the device's bytes land in guest RAM */
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe000000, 4, 0x20000);
	q.count = 2;
	q.data_is_ptr = 1;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(ram[0x20000], 0x00);
	assert_int_equal(ram[0x20002], 0xfe);
	assert_int_equal(ram[0x20004], 0x04);
	/* bounded: 64 KiB buckets, 2 at most; a third bucket evicts one */
	assert_int_equal(xd_ram_mappings(), 2);
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_WRITE, 0x3f8, 1, 0x40000);
	q.data_is_ptr = 1;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(xd_ram_mappings(), 2);

	/* outside RAM: refused, answered, never mapped */
	maps = xd_count("xenforeignmemory_map");
	tdev.n = 0;
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_WRITE, 0x3f8, 1, 0x200000);
	q.data_is_ptr = 1;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(tdev.n, 0);
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_READ, 0x3f8, 4, 0x1ffffe); /* straddles the end */
	q.data_is_ptr = 1;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(ram[0x1ffffe], 0);
	assert_int_equal(xd_count("xenforeignmemory_map"), maps);

	/* INVALIDATE: count 0, answered, every mapping dropped */
	q = ioreq(IOREQ_TYPE_INVALIDATE, IOREQ_WRITE, 0, 4, ~0ull);
	q.count = 0;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(xd_ram_mappings(), 0);
	/* and the next access maps again */
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_WRITE, 0x3f8, 1, 0x1000);
	q.data_is_ptr = 1;
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(xd_count("xenforeignmemory_map"), maps + 1);
	assert_int_equal(xd_ram_mappings(), 1);

	vm_stop(r.vm, 0);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_int_equal(xd_ram_mappings(), 0);
}

/*
 * A device doing DMA: a write of a guest address to its doorbell copies
 * 8 bytes from there to address + 0x100 through the host services'
 * guest-memory path (vm_mem: what a plugin's mem_read/mem_write/mem_map
 * call), the path that must reach the domain's RAM, not vdm's memory.
 */
static const struct iomap_owner dma_owner;

static int dma_access_fn(void *ctx, uint32_t id, enum vdev_space space, uint64_t offset,
			 unsigned size, bool is_write, uint64_t *value, int32_t vcpu)
{
	struct guest_mem *gm = vm_mem(tdev.vm);
	uint8_t buf[8];
	uint8_t *p;

	if (!is_write) {
		*value = 0;
		return 0;
	}
	if (offset == 0) {
		if (guest_mem_read(gm, *value, buf, sizeof(buf)) < 0 ||
		    guest_mem_write(gm, *value + 0x100, buf, sizeof(buf)) < 0)
			return -EFAULT;
	} else {
		/* offset 8: mem_map, and mark the byte in place */
		p = guest_mem_map(gm, *value, 1, VDEV_MAP_READ | VDEV_MAP_WRITE);
		if (!p)
			return -EFAULT;
		*p ^= 0xff;
	}
	return 0;
}

static const struct iomap_owner dma_owner = { .name = "dma",
					      .access = dma_access_fn,
					      .access_sizes = VDEV_ACCESS_SIZES_ALL };

static void test_vdev_mem_reaches_domain_ram(void **state)
{
	struct run r;
	const struct guest_mem_range *gr;
	uint8_t *ram;
	ioreq_t q;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	/* the config's RAM has no vdm memory: it is the domain's */
	assert_int_equal(guest_mem_count(vm_mem(r.vm)), 1);
	gr = guest_mem_range_at(vm_mem(r.vm), 0);
	assert_null(gr->host);
	assert_int_equal(gr->via_backend, 1);
	assert_int_equal(iomap_add(vm_iomap(r.vm), VDEV_SPACE_MMIO, 0xfe100000, 0x10, &dma_owner, 0,
				   NULL),
			 0);
	run_start(&r, 1);
	ram = xd_ram();
	memcpy(ram + 0x3000, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(xd_count("xenforeignmemory_map"), 0);

	q = ioreq(IOREQ_TYPE_COPY, IOREQ_WRITE, 0xfe100000, 4, 0x3000);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	/* read from and written to the domain's RAM through a foreign mapping */
	assert_memory_equal(ram + 0x3100, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(xd_count("xenforeignmemory_map") >= 1);
	assert_int_equal(xd_ram_mappings(), 1);
	/* mem_map gives a pointer into the domain's page */
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_WRITE, 0xfe100008, 4, 0x3001);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(ram[0x3001], 0xfd);
	/* outside the RAM: refused before any mapping, the guest untouched */
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_WRITE, 0xfe100000, 4, 0x1ffffc);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(ram[0x1ffffc], 0);

	vm_stop(r.vm, 0);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_int_equal(xd_ram_mappings(), 0);
}

/*
 * Xen 4.17 leaves each freshly bound port pending (seen in tests/xen-e2e):
 * the event finds no READY slot, must be unmasked and ignored, and the
 * first real request afterwards is served normally.
 */
static void test_event_at_bind_ignored(void **state)
{
	struct run r;
	ioreq_t q;

	double_start(XD_PVH, 2);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, true);
	run_start(&r, 2);
	for (int i = 0; i < T_MS && xd_events_queued() > 0; i++)
		usleep(1000);
	assert_int_equal(xd_events_queued(), 0);
	/* taken and re-armed (both ports), and nothing reached a device */
	for (int i = 0; i < T_MS && xd_count("unmask") < 2; i++)
		usleep(1000);
	assert_true(xd_count("unmask") >= 2);
	assert_int_equal(tdev.n, 0);
	q = ioreq(IOREQ_TYPE_PIO, IOREQ_READ, 0x3f9, 1, 0);
	assert_int_equal(xd_post(1, &q, T_MS), 0);
	assert_int_equal(q.data, 0x01); /* cut to one byte, offset 1 */
	assert_int_equal(tdev.n, 1);
	assert_int_equal(tdev_last().vcpu, 1);
	vm_stop(r.vm, 0);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
}

/* The arguments of the index-th call named `name` (from the start), or NULL. */
static const struct xd_call *pass_call(const char *name, unsigned nth)
{
	int at = -1;

	for (unsigned i = 0; i <= nth; i++) {
		at = xd_find(name, (unsigned)(at + 1));
		if (at < 0)
			return NULL;
	}
	return xd_call_at((unsigned)at);
}

/*
 * pass on the xen backend: memory, ports, a PCI function and an IRQ given
 * to the domain with libxenctrl's calls (as libxl does for iomem=, ioports=,
 * pci= and irqs=), taken back in reverse order at teardown; what Xen cannot
 * do is a configuration error at the entry, and a refusal by Xen is fatal.
 */
static void test_pass(void **state)
{
	struct run r;
	const struct xd_call *c;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	double_start(XD_HVM, 1);
	xd_fail_next(NULL, 0);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"
					  "pass loc mem:0x10000000,0x2000,rw=0x80000000\n"
					  "pass loc io:0x2f8,8 intr 5\n"
					  "pass loc pci:0:5.0\n"),
			 0);
	c = pass_call("xc_domain_iomem_permission", 0);
	assert_non_null(c);
	assert_int_equal(c->a[0], DOMID);
	assert_int_equal(c->a[1], 0x80000); /* host frame */
	assert_int_equal(c->a[2], 2);	    /* pages */
	assert_int_equal(c->a[3], 1);
	c = pass_call("xc_domain_memory_mapping", 0);
	assert_non_null(c);
	assert_int_equal(c->a[1], 0x10000); /* guest frame */
	assert_int_equal(c->a[2], 0x80000);
	assert_int_equal(c->a[3], 2);
	assert_int_equal(c->a[4], 1); /* DPCI_ADD_MAPPING */
	c = pass_call("xc_domain_ioport_mapping", 0);
	assert_non_null(c);
	assert_int_equal(c->a[1], 0x2f8);
	assert_int_equal(c->a[2], 0x2f8);
	assert_int_equal(c->a[3], 8);
	assert_true(xd_find("xc_domain_ioport_permission", 0) <
		    xd_find("xc_domain_ioport_mapping", 0));
	c = pass_call("xc_assign_device", 0);
	assert_non_null(c);
	assert_int_equal(c->a[1], 5 << 3); /* 0000:00:05.0 */
	c = pass_call("xc_domain_irq_permission", 0);
	assert_non_null(c);
	assert_int_equal(c->a[1], 105); /* the pirq map_pirq returned */
	assert_int_equal(c->a[2], 1);
	run_free(&r);
	/* teardown takes everything back, the last given first */
	assert_non_null(c = pass_call("xc_domain_memory_mapping", 1));
	assert_int_equal(c->a[4], 0); /* DPCI_REMOVE_MAPPING */
	assert_non_null(pass_call("xc_deassign_device", 0));
	assert_non_null(pass_call("xc_physdev_unmap_pirq", 0));
	assert_true(xd_find_last("xc_deassign_device") < xd_find_last("xc_physdev_unmap_pirq"));
	assert_true(xd_find_last("xc_physdev_unmap_pirq") < xd_find_last("xc_domain_memory_mapping"));
	assert_int_equal(pass_call("xc_domain_iomem_permission", 1)->a[3], 0);

	/* what Xen cannot do, at the entry; nothing given */
	double_start(XD_HVM, 1);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	{
		struct vm_options opts = { .backend = backend_find("xen"), .backend_name = "xen",
					   .domid = DOMID };
		struct conf_diag *d = conf_diag_new(out);
		struct conf_vm *conf = conf_parse_string(
			"ram 0,2M\npass loc mem:0x10000800,0x1000\npass loc mem:0x2000,r=0x1000\n"
			"pass loc pci:0:6.0=pci:0:7.0\npass intr 5,u\n",
			"p.vmconf", &(struct conf_env){ 0 }, d);
		struct vm *vm;

		assert_non_null(conf);
		vm = vm_new(conf, &opts);
		assert_int_equal(vm_assemble(vm, d), VDM_EXIT_CONFIG);
		vm_free(vm);
		conf_vm_free(conf);
		conf_diag_free(d);
	}
	fclose(out);
	assert_non_null(strstr(text, "p.vmconf:2:10: error: pass loc mem:0x10000800,0x1000: Xen "
				     "gives whole 4 KiB pages"));
	assert_non_null(strstr(text, "p.vmconf:3:10: error: pass loc mem:0x2000,r=0x1000: Xen maps "
				     "host memory read-write only"));
	assert_non_null(strstr(text, "p.vmconf:4:10: error: pass loc pci:0:6.0=pci:0:7.0: Xen "
				     "shows a passed-through function at its host address 00:07.0"));
	assert_non_null(strstr(text, "p.vmconf:5:11: error: pass intr 5,u:"));
	free(text);
	assert_int_equal(xd_count("xc_domain_iomem_permission") + xd_count("xc_assign_device") +
				 xd_count("xc_physdev_map_pirq"),
			 0);

	/* Xen refusing: fatal before the start, what was given is taken back */
	double_start(XD_HVM, 1);
	xd_fail_next("xc_assign_device", EBUSY);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\npass loc io:0x2f8,8\n"
					  "pass loc pci:0:5.0\n"),
			 64);
	run_free(&r);
	assert_int_equal(xd_count("xc_domain_ioport_mapping"), 2); /* added, removed */
	assert_int_equal(xd_count("xc_deassign_device"), 0);
}

/*
 * A guest dump on the xen backend: the domain paused while its vCPUs'
 * contexts are read (xc_vcpu_getcontext), guest RAM read through the
 * mapping cache, one NT_PRSTATUS per vCPU and the RAM at its address in
 * the core, the domain unpaused after.
 */
static void test_dump(void **state)
{
	char dir[] = "/tmp/test_xen_dump.XXXXXX", conf[128], path[512];
	struct run r;
	struct dirent *de;
	DIR *d;
	FILE *f;
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t *notes;
	unsigned prstatus = 0;
	uint32_t word;

	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "system xt\nram 0,2M\ndump %s\n", dir);
	double_start(XD_HVM, 2);
	assert_int_equal(run_assemble(&r, conf), 0);
	run_start(&r, 2);
	memcpy(xd_ram() + 0x1000, "\x0d\xf0\xed\x5e", 4);
	assert_int_equal(dump_write(r.vm, "test"), 0);
	assert_true(xd_find("xc_domain_pause", 0) >= 0);
	assert_true(xd_find("xc_domain_pause", 0) < xd_find("xc_vcpu_getcontext", 0));
	assert_int_equal(xd_count("xc_vcpu_getcontext"), 2);
	assert_true(xd_find_last("xc_vcpu_getcontext") < xd_find("xc_domain_unpause", 0));
	kill(getpid(), SIGTERM);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);

	d = opendir(dir);
	assert_non_null(d);
	path[0] = '\0';
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".gcore"))
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	assert_non_null(strstr(path, "/xt-")); /* <system>-YYYYMMDD-hhmmss.gcore */
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(&eh, sizeof(eh), 1, f), 1);
	assert_int_equal(eh.e_type, ET_CORE);
	assert_int_equal(eh.e_phnum, 2);
	assert_int_equal(fread(ph, sizeof(ph), 1, f), 1);
	assert_int_equal(ph[0].p_type, PT_NOTE);
	assert_int_equal(ph[1].p_type, PT_LOAD);
	assert_int_equal(ph[1].p_vaddr, 0);
	assert_int_equal(ph[1].p_filesz, 2 << 20);
	notes = malloc(ph[0].p_filesz);
	assert_non_null(notes);
	fseek(f, (long)ph[0].p_offset, SEEK_SET);
	assert_int_equal(fread(notes, ph[0].p_filesz, 1, f), 1);
	for (size_t at = 0; at + sizeof(Elf64_Nhdr) <= ph[0].p_filesz;) {
		const Elf64_Nhdr *n = (const Elf64_Nhdr *)(notes + at);
		size_t desc = at + sizeof(*n) + (n->n_namesz + 3) / 4 * 4;

		if (n->n_type == NT_PRSTATUS) {
			/* notes are 4-byte aligned: copied out, not read in place */
			struct elf_prstatus st;
			struct user_regs_struct u;

			assert_true(desc + sizeof(st) <= ph[0].p_filesz);
			memcpy(&st, notes + desc, sizeof(st));
			memcpy(&u, &st.pr_reg, sizeof(u));
			assert_int_equal(u.rip, 0x100000 + prstatus);
			assert_int_equal(u.rbx, 0x5eed);
			prstatus++;
		}
		at = desc + (n->n_descsz + 3) / 4 * 4;
	}
	free(notes);
	assert_int_equal(prstatus, 2);
	fseek(f, (long)(ph[1].p_offset + 0x1000), SEEK_SET);
	assert_int_equal(fread(&word, 4, 1, f), 1);
	assert_int_equal(word, 0x5eedf00d);
	fclose(f);
	unlink(path);
	rmdir(dir);
}

/* PVH: no emulated PIC/IOAPIC, so only "msi"; a config naming isa is refused. */
static void test_pvh_controllers(void **state)
{
	struct run r;
	struct vdev_line *l;

	double_start(XD_PVH, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "isa:4", &l), -ENOENT);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "pci:4", &l), -ENOENT);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "gic:40", &l), -ENOENT);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "msi:0x30", &l), 0);
	irq_line_set(vm_irq(r.vm), l, 1);
	irq_line_set(vm_irq(r.vm), l, 0); /* an edge: only the rising one sends */
	assert_int_equal(xd_count("inject_msi"), 1);
	assert_int_equal(xd_call_at(xd_find_last("inject_msi"))->a[2], 0x30);
	irq_line_put(vm_irq(r.vm), l);
	/* vector 0 would be a PIRQ to Xen: refused here */
	assert_int_equal(irq_line_get(vm_irq(r.vm), "msi:2", &l), 0);
	irq_line_pulse(vm_irq(r.vm), l);
	assert_int_equal(xd_count("inject_msi"), 1);
	irq_line_put(vm_irq(r.vm), l);
	assert_int_equal(xd_count("set_isa_irq_level") + xd_count("set_pci_intx_level"), 0);
	run_free(&r);
	/* a server that never ran is destroyed too */
	assert_int_equal(xd_count("destroy_ioreq_server"), 1);
	assert_false(xd_server_exists());
}

/* Arm: no buffering, MMIO only, SPIs through set_irq_level, zero-extended reads. */
static void test_arm(void **state)
{
	struct run r;
	struct vdev_line *spi, *sgi;
	ioreq_t q;

	double_start(XD_ARM, 2);
	xen_backend_tunables.force_arm = true;
	assert_int_equal(run_assemble(&r, "system xa\nram 0x40000000,2M\n"), 0);
	run_add_devices(&r, true);
	run_start(&r, 2);
	assert_int_equal(xd_call_at(idx("create_ioreq_server"))->a[1], 0);
	assert_int_equal(xd_call_at(idx("map_resource"))->a[3], 1);
	assert_true(xd_has_range(1, 0xfe000000, 0xfe001fff));
	assert_int_equal(xd_count("map_pcidev"), 0); /* no PCI config or ports on Arm */
	assert_int_equal(xd_range_count(), 1);

	/* a 2-byte read: only 16 bits come back; a write's upper register bits are cut */
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe000ff0, 2, ~0ull);
	assert_int_equal(xd_post(1, &q, T_MS), 0);
	assert_int_equal(q.data, 0x0ff0);
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_WRITE, 0xfe000008, 4, 0xffffffff87654321ull);
	assert_int_equal(xd_post(0, &q, T_MS), 0);
	assert_int_equal(tdev_last().value, 0x87654321);

	assert_int_equal(irq_line_get(vm_irq(r.vm), "isa:4", &spi), -ENOENT);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "msi:0x30", &spi), -ENOENT);
	assert_int_equal(irq_msi_send(vm_irq(r.vm), 0xfee00000, 0x30), -ENOTSUP);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "gic:40", &spi), 0);
	irq_line_set(vm_irq(r.vm), spi, 1);
	irq_line_set(vm_irq(r.vm), spi, 0);
	assert_int_equal(xd_count("set_irq_level"), 2);
	assert_int_equal(xd_call_at(xd_find("set_irq_level", 0))->a[1], 40);
	assert_int_equal(xd_call_at(xd_find("set_irq_level", 0))->a[2], 1);
	assert_int_equal(xd_call_at(xd_find_last("set_irq_level"))->a[2], 0);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "gic:20", &sgi), 0);
	irq_line_set(vm_irq(r.vm), sgi, 1); /* a PPI: refused, no call */
	assert_int_equal(xd_count("set_irq_level"), 2);
	irq_line_put(vm_irq(r.vm), spi);
	irq_line_put(vm_irq(r.vm), sgi);
	assert_int_equal(xd_count("set_isa_irq_level") + xd_count("inject_msi"), 0);

	/* guest RAM at 0x40000000 only */
	memcpy(xd_ram() + 0x100, "\x5a", 1);
	vm_stop(r.vm, 0);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_int_equal(xd_count("destroy_ioreq_server"), 1);
	assert_int_equal(xd_range_count(), 0);
}

/* The domain is destroyed: the watch fires, vdm exits 0 and tears down quietly. */
static void test_domain_destroyed(void **state)
{
	struct run r;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, false);
	run_start(&r, 1);
	assert_int_equal(xd_call_at(idx("xs_watch"))->a[0], 1); /* @releaseDomain */
	xd_domain_destroy();
	assert_int_equal(run_join(&r), 0);
	assert_int_equal(vm_stop_code(r.vm), 0);
	run_free(&r);
	assert_int_equal(xd_count("xs_close"), 1);
}

/* A shutdown (not yet destroyed) ends the run too. */
static void test_domain_shutdown(void **state)
{
	struct run r;

	double_start(XD_PVH, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_start(&r, 1);
	xd_domain_shutdown();
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_int_equal(xd_count("destroy_ioreq_server"), 1);
}

/*
 * The platform services: a PIRQ route reaches set_pci_link_route, and a
 * guest power-off shuts the domain down (poweroff, then reboot) and ends
 * the run when Xen reports it, with exit 0.
 */
static void platform_shutdown_case(int reason, unsigned xen_reason)
{
	struct run r;
	const struct backend_ops *b;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_start(&r, 1);
	b = vm_options(r.vm)->backend;
	assert_int_equal(b->pci_link_route(r.vm, 1, 10), 0);
	assert_int_equal(xd_call_at(xd_find_last("set_pci_link_route"))->a[1], 1);
	assert_int_equal(xd_call_at(xd_find_last("set_pci_link_route"))->a[2], 10);
	assert_int_equal(b->shutdown(r.vm, reason), 0);
	assert_int_equal(xd_call_at(xd_find_last("shutdown"))->a[1], xen_reason);
	assert_int_equal(run_join(&r), 0);
	assert_int_equal(vm_stop_code(r.vm), 0);
	run_free(&r);
	assert_int_equal(xd_count("destroy_ioreq_server"), 1);
}

static void test_platform_poweroff(void **state)
{
	platform_shutdown_case(0, SHUTDOWN_poweroff);
}

static void test_platform_reboot(void **state)
{
	platform_shutdown_case(1, SHUTDOWN_reboot);
}

/* A suspend (xl save) is not the domain's end: vdm stays to save the devices. */
static void test_domain_suspend_keeps_running(void **state)
{
	struct run r;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_start(&r, 1);
	xd_domain_suspend();
	usleep(300 * 1000); /* the watch fired and the poll ran several times */
	assert_false(vm_stopping(r.vm));
	xd_domain_destroy();
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
}

static void shut_probe_fn(void *ctx, struct vm *vm)
{
	atomic_fetch_add((atomic_int *)ctx, 1);
}

/*
 * -no-shutdown (xen_stay_after_shutdown): the domain's shutdown stops the
 * serving, not the run; the hook hears it once; libxl's SIGHUP (or the
 * domain's destruction) then ends the run with 0 and a full teardown.
 */
static void no_shutdown_case(bool by_sighup)
{
	atomic_int calls = 0;
	struct run r;
	ioreq_t q;

	double_start(XD_HVM, 1);
	run_extra.xen_stay_after_shutdown = true;
	run_extra.shut_down = shut_probe_fn;
	run_extra.ready_ctx = &calls;
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, false);
	run_start(&r, 1);
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe000020, 1, 0);
	assert_int_equal(xd_post(0, &q, T_MS), 0); /* served while the domain runs */
	xd_domain_shutdown();
	for (int i = 0; i < T_MS && atomic_load(&calls) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&calls), 1);
	usleep(200 * 1000); /* the watch and several polls later */
	assert_false(vm_stopping(r.vm));
	assert_int_equal(atomic_load(&calls), 1);
	assert_true(xd_server_exists());
	/* no longer served: the request waits (teardown answers it) */
	tdev.n = 0;
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe000020, 1, 0);
	assert_int_equal(xd_post(0, &q, 300), -ETIMEDOUT);
	assert_int_equal(tdev.n, 0);
	if (by_sighup)
		kill(getpid(), SIGHUP);
	else
		xd_domain_destroy();
	assert_int_equal(run_join(&r), 0);
	assert_int_equal(vm_stop_code(r.vm), 0);
	run_free(&r);
	assert_false(xd_server_exists());
	assert_int_equal(xd_range_count(), 0);
}

static void test_no_shutdown_until_sighup(void **state)
{
	no_shutdown_case(true);
}

static void test_no_shutdown_until_destroyed(void **state)
{
	no_shutdown_case(false);
}

/* --restrict: xenstore and xenctrl closed, then restrict_all after binding; still serving. */
static void test_restrict(void **state)
{
	struct run r;
	ioreq_t q;

	double_start(XD_HVM, 1);
	xen_backend_tunables.restrict_after_setup = true;
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, false);
	run_start(&r, 1);
	for (int i = 0; i < T_MS && xd_restricted_domid() < 0; i++)
		usleep(1000);
	assert_int_equal(xd_restricted_domid(), DOMID);
	assert_before(xd_find_last("bind_interdomain"), idx("xentoolcore_restrict_all"));
	assert_before(idx("xs_close"), idx("xentoolcore_restrict_all"));
	assert_before(idx("xc_interface_close"), idx("xentoolcore_restrict_all"));
	q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe000020, 1, 0);
	if (xd_post(0, &q, T_MS) != 0) {
		xd_dump();
		fail_msg("no answer after restrict");
	}
	assert_int_equal(q.data, 0x20);
	/* no xenstore now: the domain's end is found by polling */
	xd_domain_destroy();
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
}

/* ------------------------------------------- libxl's device-model protocol */

#define DM_STATE_KEY "/local/domain/0/device-model/7/state"

struct ready_probe {
	atomic_int calls;
	int bound_at_ready; /* bind_interdomain calls seen when ready ran */
};

static void ready_probe_fn(void *ctx, struct vm *vm)
{
	struct ready_probe *p = ctx;

	p->bound_at_ready = (int)xd_count("bind_interdomain");
	atomic_fetch_add(&p->calls, 1);
}

/*
 * xen_dm_state: "running" is written once every vCPU's port is bound (the
 * server serves the guest), the ready hook runs once after that, and the
 * key is gone after teardown, removed before the ioreq server is destroyed.
 */
static void test_dm_state_key(void **state)
{
	struct ready_probe probe = { 0 };
	struct run r;

	double_start(XD_HVM, 2);
	run_extra.xen_dm_state = true;
	run_extra.ready = ready_probe_fn;
	run_extra.ready_ctx = &probe;
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	assert_null(xd_store_get(DM_STATE_KEY)); /* not at setup: nothing is served yet */
	run_start(&r, 2);
	for (int i = 0; i < T_MS && atomic_load(&probe.calls) == 0; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&probe.calls), 1);
	assert_int_equal(probe.bound_at_ready, 2);
	assert_non_null(xd_store_get(DM_STATE_KEY));
	assert_string_equal(xd_store_get(DM_STATE_KEY), "running");
	assert_before(xd_find_last("bind_interdomain"), idx("xs_write"));
	assert_int_equal(xd_store_count(), 1);
	xd_domain_destroy();
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_null(xd_store_get(DM_STATE_KEY));
	assert_int_equal(xd_store_count(), 0);
	assert_int_equal(xd_count("xs_rm"), 1);
	assert_before(idx("xs_rm"), idx("destroy_ioreq_server"));
	assert_int_equal(atomic_load(&probe.calls), 1);
}

/* Without xen_dm_state (a PVH guest started by hand, or -S) no key is written. */
static void test_dm_state_key_off(void **state)
{
	struct run r;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_start(&r, 1);
	kill(getpid(), SIGTERM);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
	assert_int_equal(xd_count("xs_write"), 0);
	assert_int_equal(xd_count("xs_rm"), 0);
}

#define QDISK "/local/domain/0/backend/qdisk/"

/*
 * backendtype=qdisk disks are the device model's (libxl waits for nobody,
 * xen_qdisk.h): vdm takes each qdisk backend of its domain to Closed
 * before the guest runs and leaves a Closed one, another domain's and
 * blkback's vbd alone. Without the option nothing is touched.
 */
static void qdisk_case(bool decline)
{
	struct run r;

	double_start(XD_HVM, 1);
	xd_store_set(QDISK "7/768/state", "1");
	xd_store_set(QDISK "7/768/dev", "hda");
	xd_store_set(QDISK "7/5632/state", "1");
	xd_store_set(QDISK "7/832/state", "6");
	xd_store_set(QDISK "8/768/state", "1");
	xd_store_set("/local/domain/0/backend/vbd/7/51712/state", "1");
	run_extra.xen_decline_qdisk = decline;
	run_extra.xen_dm_state = true;
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	assert_string_equal(xd_store_get(QDISK "7/768/state"), "1"); /* not at setup */
	run_start(&r, 1);
	for (int i = 0; i < T_MS && !xd_store_get(DM_STATE_KEY); i++)
		usleep(1000);
	assert_string_equal(xd_store_get(DM_STATE_KEY), "running");
	assert_string_equal(xd_store_get(QDISK "7/768/state"), decline ? "6" : "1");
	assert_string_equal(xd_store_get(QDISK "7/5632/state"), decline ? "6" : "1");
	assert_string_equal(xd_store_get(QDISK "7/832/state"), "6");
	assert_string_equal(xd_store_get(QDISK "7/768/dev"), "hda");
	assert_string_equal(xd_store_get(QDISK "8/768/state"), "1");
	assert_string_equal(xd_store_get("/local/domain/0/backend/vbd/7/51712/state"), "1");
	/* six keys set up, two backends closed, then "running" */
	assert_int_equal(xd_count("xs_write"), decline ? 9 : 7);
	kill(getpid(), SIGTERM);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
}

static void test_qdisk_declined(void **state)
{
	qdisk_case(true);
}

static void test_qdisk_untouched_by_default(void **state)
{
	qdisk_case(false);
}

struct poster {
	pthread_t thread;
	ioreq_t q;
	int rc;
	atomic_bool done;
};

static void *poster_fn(void *arg)
{
	struct poster *p = arg;

	p->rc = xd_post(0, &p->q, T_MS);
	atomic_store(&p->done, true);
	return NULL;
}

/*
 * vm_pause (QMP stop): a posted request waits until resume (cont), then is
 * answered; also when the pause comes while the backend is still attaching
 * (right after the ports are bound, as with -S before the loop runs).
 */
static void test_pause_holds_requests(void **state)
{
	struct poster p = { .rc = -1 };
	struct run r;

	double_start(XD_HVM, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,2M\n"), 0);
	run_add_devices(&r, false);
	assert_int_equal(vm_pause(r.vm, true), 0); /* -S: paused before the run */
	run_start(&r, 1);
	assert_true(vm_paused(r.vm));
	p.q = ioreq(IOREQ_TYPE_COPY, IOREQ_READ, 0xfe000030, 2, 0);
	atomic_init(&p.done, false);
	assert_int_equal(pthread_create(&p.thread, NULL, poster_fn, &p), 0);
	usleep(300 * 1000);
	if (atomic_load(&p.done)) /* held while paused */
		fail_msg("the request ended while paused: %d (%s)", p.rc, strerror(-p.rc));
	assert_int_equal(tdev.n, 0);
	assert_int_equal(vm_pause(r.vm, false), 0);
	pthread_join(p.thread, NULL);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.q.data, 0x0030);
	kill(getpid(), SIGTERM);
	assert_int_equal(run_join(&r), 0);
	run_free(&r);
}

/* A blocking QMP client line: send `cmd` (if any), return the next CRLF-terminated message. */
static char *qmp_line(int fd, const char *cmd, char *buf, size_t cap)
{
	size_t n = 0;

	if (cmd)
		assert_int_equal(send(fd, cmd, strlen(cmd), MSG_NOSIGNAL), (ssize_t)strlen(cmd));
	while (n + 1 < cap) {
		ssize_t k = recv(fd, buf + n, 1, 0);

		if (k <= 0)
			fail_msg("QMP: no reply (%s)", cmd ? cmd : "greeting");
		n++;
		if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')
			break;
	}
	buf[n] = '\0';
	return buf;
}

/* One libxl QMP operation: connect, greeting, qmp_capabilities, `cmd`; its reply in buf. */
static char *qmp_once(const char *path, const char *cmd, char *buf, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_non_null(strstr(qmp_line(fd, NULL, buf, cap), "\"QMP\""));
	assert_non_null(
	    strstr(qmp_line(fd, "{\"execute\":\"qmp_capabilities\",\"id\":1}\r\n", buf, cap),
		   "\"return\""));
	qmp_line(fd, cmd, buf, cap);
	close(fd);
	return buf;
}

/*
 * The whole libxl flow on the double: vdm started with libxl's argv
 * (devmodel/xl/), "running" in xenstore once served, QMP post-config
 * (query-chardev gives the UART's pty), stop/cont, the guest's shutdown
 * that vdm outlives (-no-shutdown), then SIGHUP (libxl's destroy): the
 * socket and the key are gone afterwards.
 */
static void test_xl_session(void **state)
{
	const char *plugins = getenv("PLUGIN_DIR") ? getenv("PLUGIN_DIR") : "build/release/lib/vdm";
	char path[108], chardev[200], ser[300], buf[4096];
	const char *dirs[] = {plugins};
	struct xl_mode *xl = NULL;
	struct conf_env env = {0};
	struct vm_options opts = {.backend = backend_find("xen"),
				  .backend_name = "xen",
				  .plugin_dirs = dirs,
				  .plugin_dir_count = 1};
	struct run r = {0};
	char **words;
	int nwords;

	snprintf(ser, sizeof(ser), "%s/vdev-ser8250.so", plugins);
	if (access(ser, R_OK) != 0)
		skip();
	snprintf(path, sizeof(path), "/tmp/test_xen_qmp.%d", (int)getpid());
	snprintf(chardev, sizeof(chardev), "socket,id=libxl-cmd,path=%s,server=on,wait=off", path);
	{
		char *argv[] = {"xl-dm",
				"-xen-domid",
				"7",
				"-no-shutdown",
				"-chardev",
				chardev,
				"-mon",
				"chardev=libxl-cmd,mode=control",
				"-nodefaults",
				"-name",
				"xlt",
				"-vnc",
				"none",
				"-display",
				"none",
				"-serial",
				"pty",
				"-machine",
				"xenfv,suppress-vmdesc=on",
				"-m",
				"2",
				"-net",
				"none"};

		setenv("VDM_HVM_PLATFORM", "none", 1);
		assert_int_equal(
		    xl_mode_new((int)(sizeof(argv) / sizeof(argv[0])), argv, stderr, &xl), 0);
	}
	assert_non_null(xl);
	double_start(XD_HVM, 1);
	words = xl_mode_words(xl, &nwords);
	env.texts = xl_mode_texts(xl, &env.text_count);
	r.diag = conf_diag_new(stderr);
	r.conf = conf_parse_argv(nwords, words, &env, r.diag);
	assert_non_null(r.conf);
	opts.domid = xl_mode_domid(xl);
	xl_mode_options(xl, &opts);
	assert_true(opts.xen_dm_state);
	assert_true(opts.xen_stay_after_shutdown); /* -no-shutdown */
	assert_true(opts.xen_decline_qdisk);
	r.vm = vm_new(r.conf, &opts);
	assert_non_null(r.vm);
	tdev.vm = r.vm;
	assert_int_equal(vm_assemble(r.vm, r.diag), 0);
	assert_int_equal(xl_mode_start(xl, r.vm), 0);
	assert_int_equal(access(path, F_OK), 0); /* listening before "running" */
	assert_null(xd_store_get(DM_STATE_KEY));
	run_start(&r, 1);
	for (int i = 0; i < T_MS && !xd_store_get(DM_STATE_KEY); i++)
		usleep(1000);
	assert_string_equal(xd_store_get(DM_STATE_KEY), "running");

	/* libxl's post-config, one connection per operation */
	for (int round = 0; round < 3; round++) {
		static const char *const cmds[] = {"{\"execute\":\"query-chardev\",\"id\":2}\r\n",
						   "{\"execute\":\"stop\",\"id\":2}\r\n",
						   "{\"execute\":\"cont\",\"id\":2}\r\n"};

		qmp_once(path, cmds[round], buf, sizeof(buf));
		if (round == 0) {
			char *pty = strstr(buf, "\"filename\":\"pty:");

			assert_non_null(strstr(buf, "\"label\":\"serial0\""));
			assert_non_null(pty);
			pty += strlen("\"filename\":\"pty:");
			*strchr(pty, '"') = '\0';
			assert_int_equal(access(pty, F_OK),
					 0); /* a real pty, xl console can open it */
		} else {
			assert_non_null(strstr(buf, "\"return\":{}"));
			assert_int_equal(vm_paused(r.vm), round == 1);
		}
	}

	/* the guest powers off: with -no-shutdown vdm stays for libxl's destroy
	 * (libxl: "Device Model already exited" otherwise), as QEMU's run state says */
	xd_domain_shutdown();
	for (int i = 0; i < T_MS && !strstr(qmp_once(path, "{\"execute\":\"query-status\"}\r\n",
						     buf, sizeof(buf)),
					    "\"shutdown\"");
	     i += 10)
		usleep(10 * 1000);
	assert_non_null(strstr(buf, "\"status\":\"shutdown\""));
	assert_non_null(strstr(buf, "\"running\":false"));
	assert_false(vm_stopping(r.vm));
	assert_string_equal(xd_store_get(DM_STATE_KEY), "running");

	/* libxl's destroy; a VM left running by a failed test would take the
	 * signal instead, so the wait is bounded */
	kill(getpid(), SIGHUP);
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 20;
		if (pthread_timedjoin_np(r.thread, NULL, &until) != 0)
			fail_msg("vdm did not end on SIGHUP within 20 s");
		r.running = false;
	}
	assert_int_equal(r.code, 0);
	xl_mode_stop(xl);
	assert_int_equal(access(path, F_OK), -1);
	run_free(&r);
	assert_null(xd_store_get(DM_STATE_KEY));
	assert_int_equal(xd_store_count(), 0);
	assert_false(xd_server_exists());
	xl_mode_free(xl);
	unsetenv("VDM_HVM_PLATFORM");
}

/* A VM of plugins without a backend (the snapshot needs only the vdevs). */
static struct run *snap_vm(struct run *r, const char *plugins, const char *text)
{
	static const char *dirs[1];
	struct vm_options opts = { .domid = -1, .plugin_dirs = dirs, .plugin_dir_count = 1 };

	dirs[0] = plugins;
	memset(r, 0, sizeof(*r));
	r->diag = conf_diag_new(stderr);
	r->conf = conf_parse_string(text, "snap.vmconf", &(struct conf_env){ 0 }, r->diag);
	assert_non_null(r->conf);
	r->vm = vm_new(r->conf, &opts);
	assert_non_null(r->vm);
	assert_int_equal(vm_assemble(r->vm, r->diag), 0);
	return r;
}

static uint64_t snap_pio(struct run *r, uint64_t port, bool write, uint64_t v)
{
	assert_int_equal(iomap_access(vm_iomap(r->vm), VDEV_SPACE_PIO, port, 1, write, &v, 0), 0);
	return v;
}

/*
 * xen-save-devices-state then -incoming: every vdev's state through its own
 * codec into one blob and back into a new VM of the same configuration; a
 * corrupt state is refused by the device's codec, a blob of another VM
 * before any device is touched.
 */
static void test_snapshot_roundtrip(void **state)
{
	const char *plugins = getenv("PLUGIN_DIR") ? getenv("PLUGIN_DIR") : "build/release/lib/vdm";
	static const char conf[] = "ram 0,1M\n"
				   "vdev ser8250 loc io:0x3f8 name serial0 hostdev >/dev/null\n"
				   "vdev mc146818 name cmos\n";
	char ser[300], err[256];
	struct run a, b;
	int fd = memfd_create("snap", MFD_CLOEXEC), rc;
	off_t len;
	uint8_t byte;

	snprintf(ser, sizeof(ser), "%s/vdev-mc146818.so", plugins);
	if (access(ser, R_OK) != 0)
		skip();
	assert_true(fd >= 0);
	snap_vm(&a, plugins, conf);
	snap_pio(&a, 0x3ff, true, 0x5a);  /* UART scratch register */
	snap_pio(&a, 0x70, true, 0x40);	  /* CMOS index: a NVRAM byte */
	snap_pio(&a, 0x71, true, 0xc3);
	assert_int_equal(snapshot_save(a.vm, fd, err, sizeof(err)), 0);
	len = lseek(fd, 0, SEEK_CUR);
	assert_true(len > 16);

	snap_vm(&b, plugins, conf);
	assert_int_equal(snap_pio(&b, 0x3ff, false, 0), 0);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(snapshot_restore(b.vm, fd, err, sizeof(err)), 0);
	assert_int_equal(snap_pio(&b, 0x3ff, false, 0), 0x5a);
	snap_pio(&b, 0x70, true, 0x40);
	assert_int_equal(snap_pio(&b, 0x71, false, 0), 0xc3);

	/* one flipped byte in the last device's state: its codec refuses it (vdm then exits 64) */
	lseek(fd, len - 3, SEEK_SET);
	assert_int_equal(read(fd, &byte, 1), 1);
	byte ^= 0xff;
	assert_int_equal(pwrite(fd, &byte, 1, len - 3), 1);
	snap_pio(&b, 0x3ff, true, 0x11);
	lseek(fd, 0, SEEK_SET);
	rc = snapshot_restore(b.vm, fd, err, sizeof(err));
	assert_true(rc < 0);
	assert_non_null(strstr(err, "cmos"));
	run_free(&b);

	/* a blob of a VM that has other devices */
	snap_vm(&b, plugins, "ram 0,1M\nvdev ser8250 loc io:0x2f8 name serial1 hostdev >/dev/null\n");
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(snapshot_restore(b.vm, fd, err, sizeof(err)), -EINVAL);
	run_free(&b);
	snap_vm(&b, plugins,
		"ram 0,1M\nvdev ser8250 loc io:0x2f8 name serial1 hostdev >/dev/null\n"
		"vdev mc146818 name cmos\n");
	byte ^= 0xff;
	assert_int_equal(pwrite(fd, &byte, 1, len - 3), 1);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(snapshot_restore(b.vm, fd, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "serial0"));
	run_free(&b);
	run_free(&a);
	close(fd);
}

/* No such domain: setup waits, then fails (64) before creating anything. */
static void test_no_domain(void **state)
{
	struct run r;
	struct xd_config cfg = { .domid = DOMID, .vcpus = 1, .guest = XD_HVM,
				 .ram_size = 1 << 20, .absent = true };

	tunables_default();
	xd_reset(&cfg);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,1M\n"), 64);
	run_free(&r);
	assert_int_equal(xd_count("create_ioreq_server"), 0);
	assert_int_equal(xd_count("xendevicemodel_close"), 1);
}

/* A PV guest has no ioreq servers: refused with 64. */
static void test_pv_refused(void **state)
{
	struct run r;

	double_start(XD_PV, 1);
	assert_int_equal(run_assemble(&r, "system xt\nram 0,1M\n"), 64);
	run_free(&r);
	assert_int_equal(xd_count("create_ioreq_server"), 0);
}

/* dryrun describes and never touches Xen. */
static void test_dryrun_untouched(void **state)
{
	struct run r;
	struct vdev_line *l;

	double_start(XD_HVM, 1);
	xen_backend_tunables.privcmd_path = "/nonexistent/privcmd";
	assert_int_equal(run_assemble(&r, "system xt\nram 0,1M\ndryrun\n"), 0);
	assert_int_equal(irq_line_get(vm_irq(r.vm), "isa:4", &l), 0);
	irq_line_put(vm_irq(r.vm), l);
	run_free(&r);
	assert_int_equal(xd_call_count(), 0);
}

/* Without privcmd: 64 and nothing opened. */
static void test_no_privcmd(void **state)
{
	struct run r;

	double_start(XD_HVM, 1);
	xen_backend_tunables.privcmd_path = "/nonexistent/privcmd";
	assert_int_equal(run_assemble(&r, "system xt\nram 0,1M\n"), 64);
	run_free(&r);
	assert_int_equal(xd_call_count(), 0);
}

static int teardown_double(void **state)
{
	xd_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_hvm_sequence_and_sigterm, teardown_double),
	    cmocka_unit_test_teardown(test_bar_move_resyncs_ranges, teardown_double),
	    cmocka_unit_test_teardown(test_guest_ram_cache_invalidate, teardown_double),
	    cmocka_unit_test_teardown(test_vdev_mem_reaches_domain_ram, teardown_double),
	    cmocka_unit_test_teardown(test_event_at_bind_ignored, teardown_double),
	    cmocka_unit_test_teardown(test_pvh_controllers, teardown_double),
	    cmocka_unit_test_teardown(test_arm, teardown_double),
	    cmocka_unit_test_teardown(test_domain_destroyed, teardown_double),
	    cmocka_unit_test_teardown(test_domain_shutdown, teardown_double),
	    cmocka_unit_test_teardown(test_platform_poweroff, teardown_double),
	    cmocka_unit_test_teardown(test_platform_reboot, teardown_double),
	    cmocka_unit_test_teardown(test_domain_suspend_keeps_running, teardown_double),
	    cmocka_unit_test_teardown(test_no_shutdown_until_sighup, teardown_double),
	    cmocka_unit_test_teardown(test_no_shutdown_until_destroyed, teardown_double),
	    cmocka_unit_test_teardown(test_restrict, teardown_double),
	    cmocka_unit_test_teardown(test_no_domain, teardown_double),
	    cmocka_unit_test_teardown(test_pv_refused, teardown_double),
	    cmocka_unit_test_teardown(test_dryrun_untouched, teardown_double),
	    cmocka_unit_test_teardown(test_no_privcmd, teardown_double),
	    cmocka_unit_test_teardown(test_dm_state_key, teardown_double),
	    cmocka_unit_test_teardown(test_dm_state_key_off, teardown_double),
	    cmocka_unit_test_teardown(test_qdisk_declined, teardown_double),
	    cmocka_unit_test_teardown(test_qdisk_untouched_by_default, teardown_double),
	    cmocka_unit_test_teardown(test_pause_holds_requests, teardown_double),
	    cmocka_unit_test_teardown(test_xl_session, teardown_double),
	    cmocka_unit_test_teardown(test_pass, teardown_double),
	    cmocka_unit_test_teardown(test_dump, teardown_double),
	    cmocka_unit_test(test_snapshot_roundtrip),
	};

	/* vm_run's signals (SIGTERM...) are read from a signalfd: block them everywhere */
	vm_block_signals();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
