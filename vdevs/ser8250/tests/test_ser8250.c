/*
 * vdevs/ser8250/tests/test_ser8250.c: the 16550A model through the SDK test
 * host: register values, FIFOs, interrupt identification and the line it
 * drives, host I/O through real pipes (with backpressure), save/restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include <vdev/testhost.h>

#define COM1 0x3f8

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };

struct fixture {
	struct vdev_testhost *th;
	const struct vdev_descriptor *desc;
	struct vdev_testdev *dev;
	int pipe[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *dir = getenv("PLUGIN_DIR");
	char path[4096];

	assert_non_null(f);
	f->pipe[0] = f->pipe[1] = -1;
	if (dir)
		snprintf(path, sizeof(path), "%s/vdev-ser8250.so", dir);
	else
		snprintf(path, sizeof(path), "%s", VDEV_PLUGIN_PATH);
	f->th = vdev_testhost_new();
	assert_non_null(f->th);
	if (vdev_testhost_load(f->th, path, &f->desc) < 0)
		fail_msg("load %s: %s", path, vdev_testhost_error(f->th));
	assert_int_equal(vdev_testhost_add_intc(f->th, "pic", 16), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_free(f->th);
	if (f->pipe[0] >= 0)
		close(f->pipe[0]);
	if (f->pipe[1] >= 0)
		close(f->pipe[1]);
	free(f);
	return 0;
}

static void create(struct fixture *f, const char *options)
{
	f->dev = vdev_testhost_create(f->th, f->desc, options);
	if (!f->dev)
		fail_msg("create \"%s\": %s", options, vdev_testhost_error(f->th));
}

static void outb(struct fixture *f, unsigned reg, uint8_t value)
{
	assert_int_equal(vdev_testhost_write(f->th, VDEV_SPACE_PIO, COM1 + reg, 1, value), 0);
}

static uint8_t inb(struct fixture *f, unsigned reg)
{
	uint64_t value = ~0ull;

	assert_int_equal(vdev_testhost_read(f->th, VDEV_SPACE_PIO, COM1 + reg, 1, &value), 0);
	assert_true(value <= 0xff);
	return (uint8_t)value;
}

static int line(struct fixture *f)
{
	return vdev_testhost_line_level(f->th, "pic:4");
}

static void test_reset_values_and_dlab(void **state)
{
	struct fixture *f = *state;

	create(f, "");
	assert_int_equal(inb(f, IER), 0x00);
	assert_int_equal(inb(f, IIR), 0x01);
	assert_int_equal(inb(f, LCR), 0x00);
	assert_int_equal(inb(f, MCR), 0x00);
	assert_int_equal(inb(f, LSR), 0x60);
	assert_int_equal(inb(f, MSR), 0xb0); /* CTS, DSR, DCD: the host side is there */
	assert_int_equal(inb(f, SCR), 0x00);
	outb(f, SCR, 0x5a);
	assert_int_equal(inb(f, SCR), 0x5a);
	/* The divisor latch behind DLAB. */
	outb(f, IER, 0x05);
	outb(f, LCR, 0x83);
	assert_int_equal(inb(f, RBR), 12);
	assert_int_equal(inb(f, IER), 0);
	outb(f, RBR, 0x01);
	outb(f, IER, 0x02);
	assert_int_equal(inb(f, RBR), 0x01);
	assert_int_equal(inb(f, IER), 0x02);
	outb(f, LCR, 0x03);
	assert_int_equal(inb(f, LCR), 0x03);
	assert_int_equal(inb(f, IER), 0x05);
	assert_int_equal(inb(f, LSR), 0x60); /* the divisor write sent nothing */
	/* Reset goes back to power-on values. */
	outb(f, MCR, 0x1f);
	outb(f, IIR, 0x01);
	vdev_testhost_reset(f->dev);
	assert_int_equal(inb(f, IER), 0x00);
	assert_int_equal(inb(f, IIR), 0x01);
	assert_int_equal(inb(f, LCR), 0x00);
	assert_int_equal(inb(f, MCR), 0x00);
	assert_int_equal(inb(f, MSR), 0xb0);
	assert_int_equal(inb(f, SCR), 0x00);
}

static void test_loopback_echo_and_modem_lines(void **state)
{
	struct fixture *f = *state;

	create(f, "");
	outb(f, MCR, 0x10);
	assert_int_equal(inb(f, MSR), 0x0b); /* inputs fell: DCTS, DDSR, DDCD */
	assert_int_equal(inb(f, MSR), 0x00);
	outb(f, RBR, 'A');
	assert_int_equal(inb(f, LSR), 0x61);
	assert_int_equal(inb(f, RBR), 'A');
	assert_int_equal(inb(f, LSR), 0x60);
	outb(f, MCR, 0x13); /* DTR -> DSR, RTS -> CTS */
	assert_int_equal(inb(f, MSR), 0x33);
	outb(f, MCR, 0x17); /* OUT1 -> RI; a rising RI sets no delta */
	assert_int_equal(inb(f, MSR), 0x70);
	outb(f, MCR, 0x1b); /* RI falls (TERI), OUT2 -> DCD */
	assert_int_equal(inb(f, MSR), 0xb4 | 0x08);
	outb(f, MCR, 0x00);
	assert_int_equal(inb(f, MSR) & 0xf0, 0xb0);
}

static void test_fifo_fill_and_overrun(void **state)
{
	struct fixture *f = *state;

	create(f, "");
	outb(f, MCR, 0x10);
	/* Character mode: the second character overwrites RBR, OE. */
	outb(f, RBR, 1);
	outb(f, RBR, 2);
	assert_int_equal(inb(f, LSR), 0x63);
	assert_int_equal(inb(f, LSR), 0x61); /* OE clears on read */
	assert_int_equal(inb(f, RBR), 2);
	/* FIFO mode: 16 characters fit, the 17th is lost. */
	outb(f, IIR, 0x07);
	assert_int_equal(inb(f, IIR), 0xc1);
	for (int i = 0; i < 17; i++)
		outb(f, RBR, (uint8_t)(0x40 + i));
	assert_int_equal(inb(f, LSR), 0x63);
	for (int i = 0; i < 16; i++)
		assert_int_equal(inb(f, RBR), 0x40 + i);
	assert_int_equal(inb(f, LSR), 0x60);
	/* FCR clears the receive FIFO. */
	outb(f, RBR, 0x55);
	outb(f, IIR, 0x03);
	assert_int_equal(inb(f, LSR), 0x60);
	/* Disabling the FIFOs reads IIR without the FIFO bits. */
	outb(f, IIR, 0x00);
	assert_int_equal(inb(f, IIR), 0x01);
}

static void test_interrupt_priorities(void **state)
{
	struct fixture *f = *state;

	create(f, "intr pic:4");
	outb(f, MCR, 0x10); /* loopback: MSR deltas latch */
	outb(f, IIR, 0x07); /* FIFOs, trigger 1 */
	outb(f, IER, 0x0f);
	assert_int_equal(inb(f, IIR), 0xc2); /* THRE at once: the THR is empty */
	assert_int_equal(inb(f, IIR), 0xc0); /* reading IIR cleared THRE: MSR next */
	for (int i = 0; i < 17; i++)
		outb(f, RBR, (uint8_t)i);
	assert_int_equal(inb(f, IIR), 0xc6); /* line status (overrun) first */
	inb(f, LSR);
	assert_int_equal(inb(f, IIR), 0xc4); /* then received data */
	for (int i = 0; i < 16; i++)
		inb(f, RBR);
	assert_int_equal(inb(f, IIR), 0xc2); /* the last write left THRE pending */
	assert_int_equal(inb(f, IIR), 0xc0);
	inb(f, MSR);
	assert_int_equal(inb(f, IIR), 0xc1);
	/* Loopback forces OUT2 off: nothing reached the line. */
	assert_int_equal(vdev_testhost_line_edges(f->th, "pic:4"), 0);

	/* Character timeout: 3 bytes under a trigger of 14. */
	outb(f, LCR, 0x03);
	outb(f, IIR, 0xc1);
	for (int i = 0; i < 3; i++)
		outb(f, RBR, (uint8_t)(0x30 + i));
	assert_int_equal(inb(f, IIR), 0xc2);
	assert_int_equal(inb(f, IIR), 0xc1);
	/* 9600 8N1: 10 bits * 12 / 115200 s = 1.04 ms a character. */
	vdev_testhost_advance(f->th, 4000000);
	assert_int_equal(inb(f, IIR), 0xc1);
	vdev_testhost_advance(f->th, 200000);
	assert_int_equal(inb(f, IIR), 0xcc);
	assert_int_equal(inb(f, RBR), 0x30); /* a read clears it and restarts */
	assert_int_equal(inb(f, IIR), 0xc1);
	vdev_testhost_advance(f->th, 4200000);
	assert_int_equal(inb(f, IIR), 0xcc);
	inb(f, RBR);
	inb(f, RBR);
	vdev_testhost_advance(f->th, 10000000);
	assert_int_equal(inb(f, IIR), 0xc1); /* empty FIFO: no timeout */
}

static void test_thre_interrupt_and_out2(void **state)
{
	struct fixture *f = *state;

	create(f, "intr pic:4");
	outb(f, IER, 0x02);
	assert_int_equal(line(f), 0); /* OUT2 clear: the PC's IRQ buffer is off */
	assert_int_equal(inb(f, IIR), 0x02);
	assert_int_equal(inb(f, IIR), 0x01);
	outb(f, MCR, 0x08);
	outb(f, IER, 0x00);
	vdev_testhost_clear_trace(f->th);
	outb(f, IER, 0x02); /* enabling ETBEI with THR empty */
	assert_int_equal(line(f), 1);
	assert_int_equal(inb(f, IIR), 0x02);
	assert_int_equal(line(f), 0);
	outb(f, RBR, 'x'); /* sent at once (no host side): THRE again */
	assert_int_equal(line(f), 1);
	outb(f, MCR, 0x00);
	assert_int_equal(line(f), 0);
	outb(f, MCR, 0x08);
	assert_int_equal(line(f), 1);
	outb(f, IER, 0x00);
	assert_int_equal(line(f), 0);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "pic:4 1\npic:4 0\npic:4 1\npic:4 0\npic:4 1\npic:4 0\n");
}

static void test_input_from_pipe(void **state)
{
	struct fixture *f = *state;
	char opts[128];

	assert_int_equal(pipe(f->pipe), 0);
	snprintf(opts, sizeof(opts), "intr pic:4 hostdev </proc/self/fd/%d", f->pipe[0]);
	create(f, opts);
	outb(f, IER, 0x01);
	outb(f, MCR, 0x08);
	vdev_testhost_clear_trace(f->th);
	assert_int_equal(write(f->pipe[1], "hi!", 3), 3);
	assert_true(vdev_testhost_poll(f->th, 1000) >= 1);
	assert_int_equal(line(f), 1);
	assert_int_equal(inb(f, IIR), 0x04);
	/* Character mode holds one byte; the rest waits in the pipe. */
	assert_int_equal(inb(f, RBR), 'h');
	assert_int_equal(line(f), 0);
	vdev_testhost_poll(f->th, 1000);
	assert_int_equal(line(f), 1);
	assert_int_equal(inb(f, RBR), 'i');
	/* FIFO mode takes the rest at once. */
	outb(f, IIR, 0x01);
	assert_int_equal(write(f->pipe[1], "abcd", 4), 4);
	vdev_testhost_poll(f->th, 1000);
	vdev_testhost_poll(f->th, 0);
	assert_int_equal(inb(f, LSR) & 0x01, 0x01);
	for (const char *p = "!abcd"; *p; p++) {
		if (!(inb(f, LSR) & 1))
			vdev_testhost_poll(f->th, 1000);
		assert_int_equal(inb(f, RBR), *p);
	}
	assert_int_equal(inb(f, LSR), 0x60);
	assert_string_equal(vdev_testhost_trace(f->th),
			    "pic:4 1\npic:4 0\npic:4 1\npic:4 0\npic:4 1\npic:4 0\n");
}

static uint8_t pattern(unsigned i)
{
	return (uint8_t)(i * 7 % 251);
}

static void test_output_and_backpressure(void **state)
{
	struct fixture *f = *state;
	enum { TOTAL = 20000 };
	static uint8_t got[TOTAL];
	unsigned sent = 0, received = 0, stalls = 0;
	char opts[128];
	int rounds = 0;

	assert_int_equal(pipe(f->pipe), 0);
	fcntl(f->pipe[1], F_SETPIPE_SZ, 16384); /* poll wants a free page slot */
	assert_int_equal(fcntl(f->pipe[0], F_SETFL, O_NONBLOCK), 0);
	snprintf(opts, sizeof(opts), "hostdev >/proc/self/fd/%d", f->pipe[1]);
	create(f, opts);
	outb(f, IIR, 0x07);
	/* Nobody reads: the UART must stop taking bytes, and lose none. */
	for (;;) {
		uint8_t lsr = inb(f, LSR);

		if (!(lsr & 0x20)) {
			vdev_testhost_poll(f->th, 10);
			if (!(inb(f, LSR) & 0x20))
				break;
			continue;
		}
		for (int i = 0; i < 16 && sent < TOTAL; i++)
			outb(f, RBR, pattern(sent++));
		vdev_testhost_poll(f->th, 0);
		assert_true(sent < TOTAL);
	}
	assert_int_equal(inb(f, LSR) & 0x60, 0x00); /* THRE and TEMT clear */
	if (sent < 4096 + 4096)
		fail_msg("only %u bytes taken before the UART stalled; log:\n%s", sent,
			 vdev_testhost_log(f->th));
	/* Now read it all and send the rest. */
	while (received < TOTAL && rounds++ < 100000) {
		ssize_t n = read(f->pipe[0], got + received, TOTAL - received);

		if (n > 0)
			received += (unsigned)n;
		if (inb(f, LSR) & 0x20) {
			for (int i = 0; i < 16 && sent < TOTAL; i++)
				outb(f, RBR, pattern(sent++));
		} else {
			stalls++;
		}
		vdev_testhost_poll(f->th, n > 0 ? 0 : 10);
	}
	assert_int_equal(sent, TOTAL);
	assert_int_equal(received, TOTAL);
	for (unsigned i = 0; i < TOTAL; i++)
		if (got[i] != pattern(i))
			fail_msg("byte %u: got 0x%02x, sent 0x%02x", i, got[i], pattern(i));
	assert_int_equal(inb(f, LSR), 0x60);
}

/*
 * The guest's last bytes before the VM ends reach the host: with output
 * batched (held in the host buffer) and without the event loop ever running,
 * destroy delivers them.
 */
static void test_output_flushed_at_exit(void **state)
{
	struct fixture *f = *state;
	char opts[128], got[32] = "";
	ssize_t n;

	assert_int_equal(pipe(f->pipe), 0);
	assert_int_equal(fcntl(f->pipe[0], F_SETFL, O_NONBLOCK), 0);
	snprintf(opts, sizeof(opts), "hostdev >/proc/self/fd/%d batch 1000000", f->pipe[1]);
	create(f, opts);
	for (const char *c = "RESULT ok\n"; *c; c++)
		outb(f, RBR, (uint8_t)*c);
	assert_int_equal(read(f->pipe[0], got, sizeof(got)), -1); /* still batched */
	vdev_testhost_destroy(f->dev);
	f->dev = NULL;
	n = read(f->pipe[0], got, sizeof(got) - 1);
	assert_int_equal(n, 10);
	assert_memory_equal(got, "RESULT ok\n", 10);
}

/* hostdev >"|command": the guest's output is a shell command's input (qvm 8.0). */
static void test_output_to_command(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/ser8250-cmd-XXXXXX", path[64], opts[160], got[32] = "";
	FILE *in;
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(opts, sizeof(opts), "hostdev >\"|tr a-z A-Z >%s\"", path);
	create(f, opts);
	for (const char *c = "hello\n"; *c; c++)
		outb(f, RBR, (uint8_t)*c);
	/* destroy delivers the bytes, ends the command's input, waits for it */
	vdev_testhost_destroy(f->dev);
	f->dev = NULL;
	in = fopen(path, "r");
	assert_non_null(in);
	n = fread(got, 1, sizeof(got) - 1, in);
	fclose(in);
	unlink(path);
	rmdir(dir);
	assert_int_equal(n, 6);
	assert_string_equal(got, "HELLO\n");
	/* a command only reads: not an input */
	vdev_testhost_clear_log(f->th);
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev <\"|cat\""));
	assert_non_null(strstr(vdev_testhost_log(f->th), "a command only reads the output"));
}

static void test_save_restore_with_fifo_contents(void **state)
{
	struct fixture *f = *state;
	uint8_t saved[512], again[512];
	ssize_t n, n2;

	create(f, "intr pic:4");
	outb(f, MCR, 0x10);
	outb(f, IIR, 0x41); /* FIFOs, trigger 4 */
	outb(f, LCR, 0x1b);
	outb(f, SCR, 0x77);
	for (int i = 0; i < 5; i++)
		outb(f, RBR, (uint8_t)(0x61 + i));
	assert_int_equal(inb(f, RBR), 0x61); /* the FIFO's head moved */
	outb(f, IER, 0x01);
	n = vdev_testhost_save(f->dev, saved, sizeof(saved));
	assert_true(n > 0 && (size_t)n <= f->desc->state_size);

	vdev_testhost_reset(f->dev);
	assert_int_equal(inb(f, LSR), 0x60);
	assert_int_equal(inb(f, SCR), 0x00);

	memcpy(again, saved, (size_t)n);
	again[n - 3] ^= 0xff;
	assert_int_equal(vdev_testhost_restore(f->dev, again, (size_t)n), -EINVAL);
	assert_int_equal(vdev_testhost_restore(f->dev, saved, (size_t)n - 1), -EINVAL);
	assert_int_equal(inb(f, SCR), 0x00);

	assert_int_equal(vdev_testhost_restore(f->dev, saved, (size_t)n), 0);
	n2 = vdev_testhost_save(f->dev, again, sizeof(again));
	assert_int_equal(n2, n);
	assert_memory_equal(saved, again, (size_t)n);
	assert_int_equal(inb(f, SCR), 0x77);
	assert_int_equal(inb(f, LCR), 0x1b);
	assert_int_equal(inb(f, IIR), 0xc4);
	for (int i = 1; i < 5; i++)
		assert_int_equal(inb(f, RBR), 0x61 + i);
	assert_int_equal(inb(f, LSR), 0x60);
}

static void test_bad_options(void **state)
{
	struct fixture *f = *state;

	vdev_testhost_clear_log(f->th);
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev </nonexistent/ser8250-in"));
	/* the real reason, not strerror(1) of open's -1 */
	assert_non_null(strstr(vdev_testhost_log(f->th),
			       "cannot open /nonexistent/ser8250-in: No such file or directory"));
	assert_null(strstr(vdev_testhost_log(f->th), "Operation not permitted"));
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev >stdin"));
	assert_null(vdev_testhost_create(f->th, f->desc, "hostdev stdin hostdev stdin"));
	assert_null(vdev_testhost_create(f->th, f->desc, "delayed soon"));
	assert_null(vdev_testhost_create(f->th, f->desc, "intr nosuch:4"));
	/* delayed: a missing endpoint is waited for. */
	create(f, "hostdev unix:/nonexistent/ser8250.sock delayed 1");
	assert_int_equal(inb(f, MSR) & 0xb0, 0x00);
	vdev_testhost_advance(f->th, 1200000000ull);
	assert_int_equal(inb(f, MSR), 0x00); /* gave up: the modem lines stay low */
	outb(f, RBR, 'z');
	assert_int_equal(inb(f, LSR), 0x60); /* and output is discarded */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reset_values_and_dlab, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback_echo_and_modem_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_fill_and_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interrupt_priorities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thre_interrupt_and_out2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_input_from_pipe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_and_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_flushed_at_exit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_to_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_save_restore_with_fifo_contents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
