/*
 * tests/xen-e2e/linux/randread.c: the "small fio-like loop" of the Linux
 * guest's bench mode (tests/xen-e2e/linux/init). Reads 4 KiB blocks at
 * pseudo-random aligned offsets of a block device with O_DIRECT, one at a
 * time, for a fixed number of reads, and prints
 *   randread DEVICE reads N secs S iops I
 * O_DIRECT so that every read reaches the device model instead of the
 * guest's page cache; one request in flight so that the figure is the
 * round trip through the device model (what differs between vdm and QEMU).
 * Built static (the guest's initramfs has no libc) by xen-e2e.mk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define BLOCK 4096

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t size, blocks, x = 0x9e3779b97f4a7c15ull;
	unsigned long reads, i;
	double t0, t;
	void *buf;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: randread DEVICE READS\n");
		return 2;
	}
	reads = strtoul(argv[2], NULL, 0);
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		fprintf(stderr, "randread: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	blocks = size / BLOCK;
	if (blocks == 0 || reads == 0 || posix_memalign(&buf, BLOCK, BLOCK) != 0) {
		fprintf(stderr, "randread: %s: nothing to read\n", argv[1]);
		return 1;
	}
	t0 = now();
	for (i = 0; i < reads; i++) {
		/* xorshift64: the same offsets on every run and device model */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (pread(fd, buf, BLOCK, (off_t)(x % blocks) * BLOCK) != BLOCK) {
			fprintf(stderr, "randread: %s: read %lu: %s\n", argv[1], i,
				strerror(errno));
			return 1;
		}
	}
	t = now() - t0;
	printf("randread %s reads %lu secs %.3f iops %.0f\n", argv[1], reads, t, reads / t);
	return 0;
}
