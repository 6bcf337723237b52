/*
 * tests/unit/test_irq.c: the interrupt registry (devmodel/irq.c): names,
 * line specs, edge filtering, wired-OR sharing, pulses, MSI routing, and
 * what is left after handles and controllers go away.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* One line, two controllers: an ISA IRQ as both PC controllers see it. */
static void test_fanout(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec pic = {.pulses = 0}, ioapic = {.pulses = 0};
	struct irq_controller *io = NULL;
	struct vdev_line *l, *bad;

	assert_int_equal(irq_controller_register(r, "pic", 16, &rec_ops, &pic, NULL), 0);
	assert_int_equal(irq_controller_register(r, "ioapic", 24, &rec_pulse_ops, &ioapic, &io), 0);
	assert_int_equal(irq_line_get(r, "pic:0,ioapic:2", &l), 0);
	assert_string_equal(irq_line_name(l), "pic:0,ioapic:2");
	assert_int_equal(irq_line_count(r), 3); /* the fan-out and one handle per member */
	assert_int_equal(irq_line_set(r, l, 1), 0);
	assert_int_equal(irq_line_set(r, l, 1), 0); /* edge-filtered per member */
	assert_int_equal(irq_line_level(l), 1);
	assert_int_equal(irq_line_set(r, l, 0), 0);
	assert_int_equal(irq_line_pulse(r, l), 0);
	assert_string_equal(pic.trace, "0+ 0- 0+ 0- ");
	assert_string_equal(ioapic.trace, "2+ 2- 2^ ");
	/* a member whose controller went away does not silence the others */
	irq_controller_unregister(r, io);
	assert_int_equal(irq_line_set(r, l, 1), -ENODEV);
	assert_string_equal(pic.trace, "0+ 0- 0+ 0- 0+ ");
	/* releasing it deasserts what is left, and every member goes */
	irq_line_put(r, l);
	assert_string_equal(pic.trace, "0+ 0- 0+ 0- 0+ 0- ");
	assert_int_equal(irq_line_count(r), 0);
	/* any bad member refuses the whole list, and leaves nothing behind */
	assert_int_equal(irq_line_get(r, "pic:1,nosuch:2", &bad), -ENOENT);
	assert_int_equal(irq_line_get(r, "pic:1,pic:16", &bad), -ERANGE);
	assert_int_equal(irq_line_get(r, "pic:1,", &bad), -EINVAL);
	assert_int_equal(irq_line_get(r, ",pic:1", &bad), -EINVAL);
	assert_int_equal(irq_line_get(r, "pic:1,,pic:2", &bad), -EINVAL);
	assert_int_equal(irq_line_count(r), 0);
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

/*
 * A cascade as the 8259 is wired: controller "pic" forwards its output to
 * a line of controller "cpu" from inside its own set_level, on the same
 * thread, while the registry is handling the first call.
 */
struct cascade {
	struct irq_registry *r;
	struct vdev_line *out;	/* "cpu:0" */
	struct vdev_line *self; /* a line of this same controller, or NULL */
	int self_ret;
	unsigned any; /* inputs high */
};

static void cascade_set(void *ctx, unsigned line, int level)
{
	struct cascade *p = ctx;

	p->any = level ? p->any | 1u << line : p->any & ~(1u << line);
	irq_line_set(p->r, p->out, p->any != 0);
	if (p->self)
		p->self_ret = irq_line_set(p->r, p->self, level);
}

static const struct irq_controller_ops cascade_ops = {.set_level = cascade_set};

static void test_cascade_release_while_high(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec cpu = {.pulses = 0};
	struct cascade pic = {.r = r};
	struct vdev_line *timer = NULL, *uart = NULL;

	assert_int_equal(irq_controller_register(r, "cpu", 1, &rec_ops, &cpu, NULL), 0);
	assert_int_equal(irq_controller_register(r, "pic", 16, &cascade_ops, &pic, NULL), 0);
	assert_int_equal(irq_line_get(r, "cpu:0", &pic.out), 0);
	assert_int_equal(irq_line_get(r, "pic:0", &timer), 0);
	assert_int_equal(irq_line_get(r, "pic:4", &uart), 0);
	assert_int_equal(irq_line_set(r, timer, 1), 0);
	assert_int_equal(irq_line_set(r, uart, 1), 0);
	assert_string_equal(cpu.trace, "0+ ");
	/* Released while high, as at teardown: the cascade runs inside. */
	irq_line_put(r, timer);
	irq_line_put(r, uart);
	assert_string_equal(cpu.trace, "0+ 0- ");
	assert_int_equal(pic.any, 0);
	irq_line_put(r, pic.out);
	assert_int_equal(irq_line_count(r), 0);
	irq_registry_free(r);
}

static void test_controller_driving_itself(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct rec cpu = {.pulses = 0};
	struct cascade pic = {.r = r};
	struct vdev_line *in = NULL;

	assert_int_equal(irq_controller_register(r, "cpu", 1, &rec_ops, &cpu, NULL), 0);
	assert_int_equal(irq_controller_register(r, "pic", 16, &cascade_ops, &pic, NULL), 0);
	assert_int_equal(irq_line_get(r, "cpu:0", &pic.out), 0);
	assert_int_equal(irq_line_get(r, "pic:7", &pic.self), 0);
	assert_int_equal(irq_line_get(r, "pic:1", &in), 0);
	/* The re-entry is refused, reported, and nothing hangs. */
	assert_int_equal(irq_line_set(r, in, 1), 0);
	assert_int_equal(pic.self_ret, -EDEADLK);
	assert_int_equal(irq_line_level(pic.self), 0);
	assert_string_equal(cpu.trace, "0+ ");
	irq_line_put(r, in);
	assert_string_equal(cpu.trace, "0+ 0- ");
	irq_registry_free(r);
}

/* A controller that unregisters itself from its own op (no self-wait). */
struct self_remover {
	struct irq_registry *r;
	struct irq_controller *me;
	unsigned calls;
};

static void self_remover_set(void *ctx, unsigned line, int level)
{
	struct self_remover *s = ctx;

	s->calls++;
	irq_controller_unregister(s->r, s->me);
}

static const struct irq_controller_ops self_remover_ops = {.set_level = self_remover_set};

static void test_unregister_from_own_op(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct self_remover s = {.r = r};
	struct vdev_line *l = NULL;

	assert_int_equal(irq_controller_register(r, "gone", 2, &self_remover_ops, &s, &s.me), 0);
	assert_int_equal(irq_line_get(r, "gone:1", &l), 0);
	assert_int_equal(irq_line_set(r, l, 1), 0);
	assert_int_equal(s.calls, 1);
	/* The handle is inert now; the controller was freed by the last unref. */
	assert_int_equal(irq_line_set(r, l, 0), -ENODEV);
	assert_int_equal(irq_line_pulse(r, l), -ENODEV);
	irq_line_put(r, l);
	irq_registry_free(r);
}

/* Unregister waits for another thread that is inside the controller's op. */
struct slow_ctrl {
	pthread_mutex_t m;
	pthread_cond_t c;
	int inside, release;
	int done; /* the op returned */
};

static void slow_set(void *ctx, unsigned line, int level)
{
	struct slow_ctrl *s = ctx;

	pthread_mutex_lock(&s->m);
	s->inside = 1;
	pthread_cond_broadcast(&s->c);
	while (!s->release)
		pthread_cond_wait(&s->c, &s->m);
	s->done = 1;
	pthread_mutex_unlock(&s->m);
}

static const struct irq_controller_ops slow_ops = {.set_level = slow_set};

struct setter_arg {
	struct irq_registry *r;
	struct vdev_line *l;
};

static void *setter_main(void *arg)
{
	struct setter_arg *a = arg;

	irq_line_set(a->r, a->l, 1);
	return NULL;
}

static void *releaser_main(void *arg)
{
	struct slow_ctrl *s = arg;

	usleep(50000); /* unregister is waiting by now (or soon: either order is right) */
	pthread_mutex_lock(&s->m);
	s->release = 1;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
	return NULL;
}

static void test_unregister_waits_for_callers(void **state)
{
	struct irq_registry *r = irq_registry_new();
	struct slow_ctrl s = {.inside = 0};
	struct irq_controller *c = NULL;
	struct setter_arg a = {.r = r};
	pthread_t setter, releaser;

	pthread_mutex_init(&s.m, NULL);
	pthread_cond_init(&s.c, NULL);
	assert_int_equal(irq_controller_register(r, "slow", 1, &slow_ops, &s, &c), 0);
	assert_int_equal(irq_line_get(r, "slow:0", &a.l), 0);
	assert_int_equal(pthread_create(&setter, NULL, setter_main, &a), 0);
	pthread_mutex_lock(&s.m);
	while (!s.inside)
		pthread_cond_wait(&s.c, &s.m);
	pthread_mutex_unlock(&s.m);
	assert_int_equal(pthread_create(&releaser, NULL, releaser_main, &s), 0);
	irq_controller_unregister(r, c);
	/* Its ctx may be freed now: the op must have returned. */
	pthread_mutex_lock(&s.m);
	assert_int_equal(s.done, 1);
	pthread_mutex_unlock(&s.m);
	pthread_join(setter, NULL);
	pthread_join(releaser, NULL);
	irq_line_put(r, a.l);
	irq_registry_free(r);
	pthread_cond_destroy(&s.c);
	pthread_mutex_destroy(&s.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_line_specs),
	    cmocka_unit_test(test_edge_filter),
	    cmocka_unit_test(test_shared_line),
	    cmocka_unit_test(test_pulse),
	    cmocka_unit_test(test_unregister),
	    cmocka_unit_test(test_msi),
	    cmocka_unit_test(test_ack_eoi),
	    cmocka_unit_test(test_cascade_release_while_high),
	    cmocka_unit_test(test_fanout),
	    cmocka_unit_test(test_controller_driving_itself),
	    cmocka_unit_test(test_unregister_from_own_op),
	    cmocka_unit_test(test_unregister_waits_for_callers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
