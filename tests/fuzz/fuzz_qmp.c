/*
 * libFuzzer target for the QMP protocol (devmodel/qmp/qmp_session.c and
 * the commands): any bytes, cut into reads at places the input chooses,
 * some arriving with a descriptor (as add-fd's do), must give replies or a
 * clean end of the connection: no crash, leak, descriptor leak or
 * unbounded output. Built and run by tests/fuzz/run (`make fuzz`).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devmodel/qmp/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_cont_count;

static const char *fuzz_status(void *ctx)
{
	return fuzz_cont_count & 1 ? "running" : "paused";
}

static int fuzz_cont(void *ctx, char *err, size_t errlen)
{
	fuzz_cont_count++;
	return 0;
}

static int fuzz_chardevs(void *ctx, struct qmp_chardev *out, unsigned max)
{
	if (max < 1)
		return 0;
	strcpy(out[0].label, "serial0");
	strcpy(out[0].filename, "pty:/dev/pts/0");
	return 1;
}

/* No save op: xen-save-devices-state must not open paths the input names. */
static const struct qmp_ops fuzz_ops = {
    .status = fuzz_status,
    .cont = fuzz_cont,
    .stop = fuzz_cont,
    .chardevs = fuzz_chardevs,
    .package = "vdm fuzz",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_fdsets *sets = qmp_fdsets_new();
	struct qmp_session *s = qmp_session_new(&fuzz_ops, NULL, sets);
	size_t off = 0, len;
	unsigned step = 0;

	if (!s || !sets) {
		qmp_session_free(s);
		qmp_fdsets_free(sets);
		return 0;
	}
	while (off < size) {
		/* the first byte of each round: how much arrives, and whether a descriptor does */
		uint8_t ctl = data[off++];
		size_t n = (size_t)(ctl & 0x7f) * 7 + 1;
		int fd = -1;

		if (n > size - off)
			n = size - off;
		if (ctl & 0x80)
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (qmp_session_input(s, (const char *)data + off, n, fd >= 0 ? &fd : NULL,
				      fd >= 0 ? 1 : 0) < 0)
			break;
		off += n;
		/* a reader that takes the replies now and then */
		if (++step % 3 == 0) {
			qmp_session_output(s, &len);
			qmp_session_consume(s, len);
		}
	}
	qmp_session_output(s, &len);
	if (len > (2u << 20))
		abort(); /* the output bound did not hold */
	qmp_session_free(s);
	qmp_fdsets_free(sets);
	return 0;
}
