/*
 * tests/unit/test_irq.c: the interrupt registry (devmodel/irq.c): names,
 * line specs, edge filtering, wired-OR sharing, pulses, MSI routing, and
 * what is left after handles and controllers go away.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/irq.h"

/* A controller that writes every input change into a trace: "3+ 3- ". */
struct rec {
	char trace[512];
	unsigned pulses;
};

static void rec_set(void *ctx, unsigned line, int level)
{
	struct rec *r = ctx;
	size_t n = strlen(r->trace);

	snprintf(r->trace + n, sizeof(r->trace) - n, "%u%c ", line, level ? '+' : '-');
}

static void rec_pulse(void *ctx, unsigned line)
{
	struct rec *r = ctx;
	size_t n = strlen(r->trace);

	r->pulses++;
	snprintf(r->trace + n, sizeof(r->trace) - n, "%u^ ", line);
}

static const struct irq_controller_ops rec_ops = {.set_level = rec_set};
static const struct irq_controller_ops rec_pulse_ops = {.set_level = rec_set, .pulse = rec_pulse};

static void test_names(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec a = {.pulses = 0};
	struct irq_controller *c = NULL;
	const char *name;
	unsigned lines;

	assert_int_equal(irq_controller_register(r, "ioapic", 24, &rec_ops, &a, &c), 0);
	assert_non_null(c);
	assert_int_equal(irq_controller_register(r, "ioapic", 8, &rec_ops, &a, NULL), -EEXIST);
	assert_int_equal(irq_controller_register(r, "bad:name", 8, &rec_ops, &a, NULL), -EINVAL);
	assert_int_equal(irq_controller_register(r, "", 8, &rec_ops, &a, NULL), -EINVAL);
	assert_int_equal(irq_controller_register(r, "zero", 0, &rec_ops, &a, NULL), -EINVAL);
	assert_int_equal(irq_controller_register(r, "apic", 1, &rec_ops, &a, NULL), 0);
	assert_int_equal(irq_controller_at(r, 0, &name, &lines), 0);
	assert_string_equal(name, "ioapic");
	assert_int_equal(lines, 24);
	assert_int_equal(irq_controller_at(r, 1, &name, &lines), 0);
	assert_string_equal(name, "apic");
	assert_int_equal(irq_controller_at(r, 2, &name, &lines), -ENOENT);
	irq_registry_free(r);
}

static void test_line_specs(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec a = {.pulses = 0};
	struct vdev_line *l = NULL;
	static const char *const malformed[] = {"ioapic",    "ioapic:",	  "ioapic:x", ":3",
						"ioapic:3x", "ioapic:-1", "ioapic:0x"};

	assert_int_equal(irq_controller_register(r, "ioapic", 24, &rec_ops, &a, NULL), 0);
	assert_int_equal(irq_line_get(r, "ioapic:23", &l), 0);
	assert_string_equal(irq_line_name(l), "ioapic:23");
	irq_line_put(r, l);
	assert_int_equal(irq_line_get(r, "ioapic:0x10", &l), 0);
	assert_string_equal(irq_line_name(l), "ioapic:16");
	irq_line_put(r, l);
	assert_int_equal(irq_line_get(r, "ioapic:24", &l), -ERANGE);
	assert_int_equal(irq_line_get(r, "nosuch:1", &l), -ENOENT);
	/* "apic" alone is the native apic's line 0, and needs that controller */
	assert_int_equal(irq_line_get(r, "apic", &l), -ENOENT);
	for (unsigned i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		assert_int_equal(irq_line_get(r, malformed[i], &l), -EINVAL);
	assert_int_equal(irq_controller_register(r, "apic", 1, &rec_ops, &a, NULL), 0);
	assert_int_equal(irq_line_get(r, "apic", &l), 0);
	assert_string_equal(irq_line_name(l), "apic:0");
	irq_line_put(r, l);
	assert_int_equal(irq_line_count(r), 0);
	irq_registry_free(r);
}

static void test_edge_filter(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec a = {.pulses = 0};
	struct vdev_line *l;

	assert_int_equal(irq_controller_register(r, "pic", 16, &rec_ops, &a, NULL), 0);
	assert_int_equal(irq_line_get(r, "pic:4", &l), 0);
	assert_int_equal(irq_line_set(r, l, 0), 0); /* already low: nothing */
	assert_int_equal(irq_line_set(r, l, 1), 0);
	assert_int_equal(irq_line_set(r, l, 1), 0);
	assert_int_equal(irq_line_set(r, l, 7), 0); /* non-zero is asserted */
	assert_int_equal(irq_line_level(l), 1);
	assert_int_equal(irq_line_set(r, l, 0), 0);
	assert_int_equal(irq_line_set(r, l, 0), 0);
	assert_string_equal(a.trace, "4+ 4- ");
	irq_line_put(r, l);
	irq_registry_free(r);
}

static void test_shared_line(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec a = {.pulses = 0};
	struct vdev_line *l1, *l2;

	assert_int_equal(irq_controller_register(r, "pic", 16, &rec_ops, &a, NULL), 0);
	assert_int_equal(irq_line_get(r, "pic:9", &l1), 0);
	assert_int_equal(irq_line_get(r, "pic:9", &l2), 0);
	assert_int_equal(irq_line_set(r, l1, 1), 0);
	assert_int_equal(irq_line_set(r, l2, 1), 0); /* already high on the wire */
	assert_int_equal(irq_line_set(r, l1, 0), 0); /* l2 still holds it */
	assert_string_equal(a.trace, "9+ ");
	/* releasing an asserted handle deasserts it */
	irq_line_put(r, l2);
	assert_string_equal(a.trace, "9+ 9- ");
	assert_int_equal(irq_line_count(r), 1);
	irq_line_put(r, l1);
	assert_int_equal(irq_line_count(r), 0);
	irq_registry_free(r);
}

static void test_pulse(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec a = {.pulses = 0}, b = {.pulses = 0};
	struct vdev_line *l, *held, *p;

	assert_int_equal(irq_controller_register(r, "pic", 16, &rec_ops, &a, NULL), 0);
	assert_int_equal(irq_controller_register(r, "edge", 4, &rec_pulse_ops, &b, NULL), 0);
	assert_int_equal(irq_line_get(r, "pic:2", &l), 0);
	assert_int_equal(irq_line_get(r, "pic:2", &held), 0);
	assert_int_equal(irq_line_pulse(r, l), 0);
	assert_string_equal(a.trace, "2+ 2- ");
	/* a line held high shows no edge */
	assert_int_equal(irq_line_set(r, held, 1), 0);
	assert_int_equal(irq_line_pulse(r, l), 0);
	assert_string_equal(a.trace, "2+ 2- 2+ ");
	/* a controller with its own pulse op gets it */
	assert_int_equal(irq_line_get(r, "edge:3", &p), 0);
	assert_int_equal(irq_line_pulse(r, p), 0);
	assert_int_equal(b.pulses, 1);
	assert_string_equal(b.trace, "3^ ");
	irq_registry_free(r);
}

static void test_unregister(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec a = {.pulses = 0};
	struct irq_controller *c;
	struct vdev_line *l;

	assert_int_equal(irq_controller_register(r, "pic", 16, &rec_ops, &a, &c), 0);
	assert_int_equal(irq_line_get(r, "pic:1", &l), 0);
	irq_controller_unregister(r, c);
	assert_int_equal(irq_line_set(r, l, 1), -ENODEV);
	assert_int_equal(irq_line_pulse(r, l), -ENODEV);
	assert_string_equal(a.trace, "");
	assert_int_equal(irq_line_get(r, "pic:1", &l), -ENOENT);
	/* the name is free again */
	assert_int_equal(irq_controller_register(r, "pic", 2, &rec_ops, &a, NULL), 0);
	irq_registry_free(r);
}

struct msi_rec {
	uint64_t address;
	uint32_t data;
	unsigned count;
};

static int msi_sink(void *ctx, uint64_t address, uint32_t data)
{
	struct msi_rec *m = ctx;

	m->address = address;
	m->data = data;
	m->count++;
	return 0;
}

static void test_msi(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct msi_rec m = {0};

	assert_int_equal(irq_msi_send(r, 0xfee00000, 0x31), -ENOTSUP);
	irq_msi_set_sink(r, msi_sink, &m);
	assert_int_equal(irq_msi_send(r, 0xfee01000, 0x4041), 0);
	assert_int_equal(m.count, 1);
	assert_int_equal(m.address, 0xfee01000);
	assert_int_equal(m.data, 0x4041);
	irq_msi_set_sink(r, NULL, NULL);
	assert_int_equal(irq_msi_send(r, 0xfee00000, 0x31), -ENOTSUP);
	assert_int_equal(m.count, 1);
	irq_registry_free(r);
}

struct acker {
	int pending; /* vector, or -1 */
	unsigned acks;
	char eois[64];
};

static void acker_set(void *ctx, unsigned line, int level)
{
}

static int acker_ack(void *ctx)
{
	struct acker *a = ctx;
	int v = a->pending;

	a->acks++;
	a->pending = -1;
	return v;
}

static void acker_eoi(void *ctx, uint8_t vector)
{
	struct acker *a = ctx;
	size_t n = strlen(a->eois);

	snprintf(a->eois + n, sizeof(a->eois) - n, "%u ", vector);
}

static const struct irq_controller_ops acker_ops = {
    .set_level = acker_set, .ack = acker_ack, .eoi = acker_eoi};
static const struct irq_controller_ops eoi_only_ops = {.set_level = acker_set, .eoi = acker_eoi};

static void test_ack_eoi(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct acker pic = {.pending = -1}, ioapic = {.pending = -1};
	struct rec plain = {.pulses = 0};

	/* nobody to ask: spurious */
	assert_int_equal(irq_ack(r), -1);
	assert_int_equal(irq_controller_register(r, "plain", 4, &rec_ops, &plain, NULL), 0);
	assert_int_equal(irq_controller_register(r, "ioapic", 24, &eoi_only_ops, &ioapic, NULL), 0);
	assert_int_equal(irq_controller_register(r, "pic", 16, &acker_ops, &pic, NULL), 0);
	assert_int_equal(irq_ack(r), -1);
	assert_int_equal(pic.acks, 1);
	pic.pending = 0x24;
	assert_int_equal(irq_ack(r), 0x24);
	assert_int_equal(irq_ack(r), -1);
	assert_int_equal(pic.acks, 3);
	/* EOIs reach every controller that wants them */
	irq_eoi(r, 0x31);
	irq_eoi(r, 0x24);
	assert_string_equal(ioapic.eois, "49 36 ");
	assert_string_equal(pic.eois, "49 36 ");
	assert_string_equal(plain.trace, "");
	irq_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	cmocka_unit_test(test_line_specs),
	    cmocka_unit_test(test_edge_filter), cmocka_unit_test(test_shared_line),
	    cmocka_unit_test(test_pulse),	cmocka_unit_test(test_unregister),
	    cmocka_unit_test(test_msi),		cmocka_unit_test(test_ack_eoi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
