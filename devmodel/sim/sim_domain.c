/*
 * devmodel/sim/sim_domain.c: create and tear down the objects a simulated
 * domain's two sides share (see sim_domain.h).
 */
#include "devmodel/sim/sim_domain.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static void *sim_shared_page(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	void *page;

	if (fd < 0)
		return NULL;
	if (ftruncate(fd, 4096) < 0) {
		close(fd);
		return NULL;
	}
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return page == MAP_FAILED ? NULL : page;
}

int sim_domain_init(struct sim_domain *d, unsigned vcpus)
{
	int sv[2];

	memset(d, 0, sizeof(*d));
	d->control_hv = d->control_dm = d->buf_to_dm = d->stop_fd = -1;
	for (unsigned i = 0; i < SIM_MAX_VCPUS; i++)
		d->to_dm[i] = d->to_hv[i] = -1;
	if (vcpus == 0 || vcpus > SIM_MAX_VCPUS)
		return -EINVAL;
	d->vcpu_count = vcpus;
	d->timeout_ms = 10000;
	d->iopage = sim_shared_page("vdm-sim-ioreq");
	d->bufpage = sim_shared_page("vdm-sim-bufioreq");
	if (!d->iopage || !d->bufpage)
		goto fail;
	for (unsigned i = 0; i < vcpus; i++) {
		d->to_dm[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		d->to_hv[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->to_dm[i] < 0 || d->to_hv[i] < 0)
			goto fail;
		/* Xen writes the vCPU's port when the server is enabled. */
		d->iopage->vcpu_ioreq[i].vp_eport = i + 1;
	}
	d->buf_to_dm = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->buf_to_dm < 0 || d->stop_fd < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		goto fail;
	d->control_hv = sv[0];
	d->control_dm = sv[1];
	return 0;
fail:;
	int err = errno ? -errno : -ENOMEM;
	sim_domain_destroy(d);
	return err;
}

int sim_domain_add_ram(struct sim_domain *d, uint64_t gpa, uint64_t size, void *host)
{
	if (d->ram_count == SIM_MAX_RAM)
		return -ENOSPC;
	if (!size || gpa + size < gpa || !host)
		return -EINVAL;
	d->ram[d->ram_count++] = (struct sim_ram){.gpa = gpa, .size = size, .host = host};
	return 0;
}

void sim_domain_stop(struct sim_domain *d)
{
	uint64_t one = 1;

	if (d->stop_fd >= 0 && write(d->stop_fd, &one, sizeof(one)) < 0) {
		/* an eventfd only fails to count past 2^64-2: it is signalled already */
	}
}

bool sim_domain_stopped(const struct sim_domain *d)
{
	struct pollfd pfd = {.fd = d->stop_fd, .events = POLLIN};

	return d->stop_fd >= 0 && poll(&pfd, 1, 0) > 0;
}

uint8_t *sim_domain_ram(const struct sim_domain *d, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < d->ram_count; i++) {
		const struct sim_ram *r = &d->ram[i];
		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void sim_domain_destroy(struct sim_domain *d)
{
	for (unsigned i = 0; i < SIM_MAX_VCPUS; i++) {
		close_fd(&d->to_dm[i]);
		close_fd(&d->to_hv[i]);
	}
	close_fd(&d->buf_to_dm);
	close_fd(&d->stop_fd);
	close_fd(&d->control_hv);
	close_fd(&d->control_dm);
	if (d->iopage)
		munmap(d->iopage, 4096);
	if (d->bufpage)
		munmap(d->bufpage, 4096);
	d->iopage = NULL;
	d->bufpage = NULL;
	d->ram_count = 0;
}
