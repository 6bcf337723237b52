/*
 * devmodel/pci_host_attach.c: one PCI host bridge per VM (pci_host_attach,
 * pci_host_detach; contract in pci_host.h). Kept apart from pci_host.c so
 * that the mechanism links and tests with an iomap alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "devmodel/pci_host.h"
#include "devmodel/vm.h"

/* ------------------------------------------------------- per-VM record */

/* vm.c has no slot for us; vdm runs one VM, tests several: a short list. */
struct pci_host_binding {
	struct vm *vm;
	struct pci_host *ph;
	struct pci_host_binding *next;
};
static struct pci_host_binding *pci_host_bindings;
static pthread_mutex_t pci_host_bindings_lock = PTHREAD_MUTEX_INITIALIZER;

int pci_host_attach(struct vm *vm, bool data_port)
{
	struct pci_host_binding *b;
	int ret;

	pthread_mutex_lock(&pci_host_bindings_lock);
	for (b = pci_host_bindings; b; b = b->next) {
		if (b->vm == vm) {
			pthread_mutex_unlock(&pci_host_bindings_lock);
			return -EEXIST;
		}
	}
	pthread_mutex_unlock(&pci_host_bindings_lock);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->vm = vm;
	b->ph = pci_host_new(vm_iomap(vm));
	if (!b->ph) {
		free(b);
		return -ENOMEM;
	}
	ret = data_port ? pci_host_register_ports(b->ph) : pci_host_register_address(b->ph);
	if (ret) {
		pci_host_free(b->ph);
		free(b);
		return ret;
	}
	pthread_mutex_lock(&pci_host_bindings_lock);
	b->next = pci_host_bindings;
	pci_host_bindings = b;
	pthread_mutex_unlock(&pci_host_bindings_lock);
	return 0;
}

int pci_host_attach_bridge(struct vm *vm)
{
	struct pci_host_binding *b;
	struct pci_host *ph = NULL;

	pthread_mutex_lock(&pci_host_bindings_lock);
	for (b = pci_host_bindings; b; b = b->next)
		if (b->vm == vm)
			ph = b->ph;
	pthread_mutex_unlock(&pci_host_bindings_lock);
	if (!ph)
		return -ENOENT;
	return pci_host_register_bridge(ph) == 0 ? 1 : 0;
}

void pci_host_detach(struct vm *vm)
{
	struct pci_host_binding **pp, *b = NULL;

	pthread_mutex_lock(&pci_host_bindings_lock);
	for (pp = &pci_host_bindings; *pp; pp = &(*pp)->next) {
		if ((*pp)->vm == vm) {
			b = *pp;
			*pp = b->next;
			break;
		}
	}
	pthread_mutex_unlock(&pci_host_bindings_lock);
	if (!b)
		return;
	pci_host_free(b->ph);
	free(b);
}
