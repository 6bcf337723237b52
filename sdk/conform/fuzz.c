/*
 * sdk/conform/fuzz.c: vdev-conform-fuzz, the libFuzzer target behind
 * `vdev-conform --fuzz SECONDS` (sdk/conform/README.md).
 *
 * Built with clang -fsanitize=fuzzer,address,undefined together with the
 * test host's sources (sdk/conform/module.mk), it loads the plugin named in
 * VDEV_CONFORM_FUZZ_PLUGIN and, for each input, makes a fresh test host
 * (1 MiB of RAM, a recording controller "conform" with 32 lines) and an
 * instance with VDEV_CONFORM_FUZZ_OPTIONS, then reads the input as a
 * program of operations on it: register reads and writes on its regions,
 * time, reset, save and restore of a mutated state, restore of raw bytes,
 * and, for an interrupt controller, its set_level / ack / eoi ops. A crash,
 * a sanitizer report or a contract violation the test host reports (which
 * aborts here) is a finding; libFuzzer saves the input that caused it.
 * The search is guided by the coverage of what is instrumented: this
 * harness and the host always, the plugin when it is built with clang's
 * -fsanitize=fuzzer-no-link (vdev.mk FUZZ=1).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vdev/testhost.h>

#define FUZZ_RAM     (1u << 20)
#define FUZZ_REGIONS 32
#define FUZZ_STATE   (1u << 20) /* largest state_size tried */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *plugin, *options;

static void on_violation(void *ctx, const char *kind, const char *text)
{
	fprintf(stderr, "vdev-conform-fuzz: contract violation (%s): %s\n", kind, text);
	abort();
}

static const struct vdev_testhost_hooks hooks = {.violation = on_violation};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	plugin = getenv("VDEV_CONFORM_FUZZ_PLUGIN");
	options = getenv("VDEV_CONFORM_FUZZ_OPTIONS");
	if (!plugin) {
		fprintf(stderr, "vdev-conform-fuzz: run it through vdev-conform --fuzz (no "
				"VDEV_CONFORM_FUZZ_PLUGIN)\n");
		exit(2);
	}
	/* Each input's test host loads and unloads the plugin; it must stay
	 * mapped, since libFuzzer keeps the coverage counters of a plugin
	 * built for it (FUZZ=1) and clears them before every input. */
	if (!dlopen(plugin, RTLD_NOW | RTLD_NODELETE))
		fprintf(stderr, "vdev-conform-fuzz: %s\n", dlerror());
	return 0;
}

/* The input, consumed from the front; zeros once it runs out. */
struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void access_op(struct vdev_testhost *th, const struct vdev_testhost_region *r, unsigned n,
		      struct input *in, bool write)
{
	const struct vdev_testhost_region *g = &r[take(in, 1) % n];
	unsigned width = 1u << (take(in, 1) % 4);
	uint64_t offset = take(in, 2), value = write ? take(in, 8) : 0;

	if (g->length < width)
		return;
	offset = (offset % (g->length - width + 1)) & ~(uint64_t)(width - 1);
	if (write)
		vdev_testhost_write(th, g->space, g->base + offset, width, value);
	else
		vdev_testhost_read(th, g->space, g->base + offset, width, &value);
}

static void state_op(struct vdev_testdev *dev, const struct vdev_descriptor *desc, struct input *in,
		     bool raw)
{
	size_t cap = desc->state_size < FUZZ_STATE ? desc->state_size : FUZZ_STATE;
	uint8_t *buf;
	ssize_t len;

	if (!cap || !(buf = malloc(cap)))
		return;
	if (raw) {
		len = (ssize_t)(take(in, 2) % (cap + 1));
		for (ssize_t i = 0; i < len; i++)
			buf[i] = (uint8_t)take(in, 1);
		vdev_testhost_restore(dev, buf, (size_t)len);
	} else if ((len = vdev_testhost_save(dev, buf, cap)) > 0) {
		/* A valid state with a few bytes changed: past the framing
		 * checks only when the device's own checksum is mended too,
		 * which the fuzzer may learn from a codec it can see. */
		for (unsigned k = (unsigned)take(in, 1) % 4; k; k--)
			buf[take(in, 2) % (size_t)len] = (uint8_t)take(in, 1);
		vdev_testhost_restore(dev, buf, (size_t)len);
	}
	free(buf);
}

static void intc_op(struct vdev_testdev *dev, const struct vdev_descriptor *desc, struct input *in)
{
	void *state = vdev_testdev_state(dev);
	unsigned lines;

	if (!desc->intc || !state)
		return;
	lines = desc->intc->line_count(state);
	switch (take(in, 1) % 3) {
	case 0:
		if (lines)
			desc->intc->set_level(state, (unsigned)(take(in, 1) % lines),
					      (int)(take(in, 1) & 1));
		break;
	case 1:
		if (desc->intc->ack)
			desc->intc->ack(state);
		break;
	default:
		if (desc->intc->eoi)
			desc->intc->eoi(state, (uint8_t)take(in, 1));
		break;
	}
}

/*
 * Without VDEV_CONFORM_FUZZ_OPTIONS (vdev-conform could not load a plugin
 * built for the fuzzer, whose coverage symbols only this program has): the
 * options vdev-conform's checks would choose, a `loc` when required and an
 * `intr` when the device takes one.
 */
static const char *default_options(struct vdev_testhost *th, const struct vdev_descriptor *desc)
{
	static char text[96];
	const char *loc = !(desc->flags & VDEV_F_LOC_REQUIRED)	  ? ""
			  : desc->default_space == VDEV_SPACE_PIO ? "loc 0x2000 "
								  : "loc 0x100000000 ";
	struct vdev_testdev *dev;

	snprintf(text, sizeof(text), "%sintr conform:0", loc);
	dev = vdev_testhost_create(th, desc, text);
	if (dev) {
		vdev_testhost_destroy(dev);
		return text;
	}
	snprintf(text, sizeof(text), "%s", loc);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vdev_testhost_region regions[FUZZ_REGIONS];
	struct input in = {data, size};
	const struct vdev_descriptor *desc;
	struct vdev_testhost *th = vdev_testhost_new();
	struct vdev_testdev *dev;
	unsigned n;

	if (!th)
		return 0;
	vdev_testhost_set_hooks(th, &hooks);
	if (vdev_testhost_add_ram(th, 0, FUZZ_RAM) < 0 ||
	    vdev_testhost_add_intc(th, "conform", 32) < 0 ||
	    vdev_testhost_load(th, plugin, &desc) < 0) {
		fprintf(stderr, "vdev-conform-fuzz: %s\n", vdev_testhost_error(th));
		exit(2);
	}
	if (!options)
		options = default_options(th, desc);
	dev = vdev_testhost_create(th, desc, options);
	if (!dev) {
		fprintf(stderr, "vdev-conform-fuzz: no instance with \"%s\": %s\n",
			options ? options : "", vdev_testhost_error(th));
		exit(2);
	}
	n = vdev_testhost_regions(dev, regions, FUZZ_REGIONS);
	if (n > FUZZ_REGIONS)
		n = FUZZ_REGIONS;
	for (unsigned steps = 0; in.left && steps < 4096; steps++) {
		switch (take(&in, 1) % 8) {
		case 0:
		case 1:
			if (n)
				access_op(th, regions, n, &in, false);
			break;
		case 2:
		case 3:
			if (n)
				access_op(th, regions, n, &in, true);
			break;
		case 4:
			vdev_testhost_advance(th, take(&in, 4));
			vdev_testhost_poll(th, 0);
			break;
		case 5:
			vdev_testhost_reset(dev);
			break;
		case 6:
			state_op(dev, desc, &in, take(&in, 1) & 1);
			break;
		default:
			intc_op(dev, desc, &in);
			break;
		}
		/* Regions move (PCI BARs): route to where they are now. */
		n = vdev_testhost_regions(dev, regions, FUZZ_REGIONS);
		if (n > FUZZ_REGIONS)
			n = FUZZ_REGIONS;
	}
	vdev_testhost_destroy(dev);
	vdev_testhost_free(th);
	return 0;
}
