/*
 * devmodel/qmp/qmp_fdset.c: the descriptor sets of add-fd.
 *
 * libxl sends the save file's descriptor with add-fd (SCM_RIGHTS) and then
 * names it "/dev/fdset/N" in xen-save-devices-state. As in QEMU, sets
 * belong to the server, not to one connection; unlike QEMU there is no
 * remove-fd, so a set closes when the connection that added it closes
 * (libxl is done with it by then), and there are at most QMP_MAX_FDS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "devmodel/qmp/qmp_internal.h"

struct qmp_fdset_entry {
	int id, fd;
	const void *owner;
};

struct qmp_fdsets {
	struct qmp_fdset_entry e[QMP_MAX_FDS];
	unsigned count;
	int next_id;
};

struct qmp_fdsets *qmp_fdsets_new(void)
{
	struct qmp_fdsets *s = calloc(1, sizeof(*s));

	if (s)
		s->next_id = 1;
	return s;
}

void qmp_fdsets_free(struct qmp_fdsets *sets)
{
	if (!sets)
		return;
	for (unsigned i = 0; i < sets->count; i++)
		close(sets->e[i].fd);
	free(sets);
}

unsigned qmp_fdsets_count(const struct qmp_fdsets *sets)
{
	return sets ? sets->count : 0;
}

int qmp_fdsets_add(struct qmp_fdsets *sets, const void *owner, int id, int fd, int *set_id)
{
	if (sets->count >= QMP_MAX_FDS)
		return -EMFILE;
	if (id < 0) {
		id = sets->next_id++;
		if (sets->next_id < 0)
			sets->next_id = 1;
	}
	sets->e[sets->count++] = (struct qmp_fdset_entry){.id = id, .fd = fd, .owner = owner};
	*set_id = id;
	return 0;
}

int qmp_fdsets_dup(struct qmp_fdsets *sets, int id)
{
	for (unsigned i = sets->count; i-- > 0;)
		if (sets->e[i].id == id) {
			int fd = fcntl(sets->e[i].fd, F_DUPFD_CLOEXEC, 3);

			return fd < 0 ? -errno : fd;
		}
	return -ENOENT;
}

void qmp_fdsets_release(struct qmp_fdsets *sets, const void *owner)
{
	unsigned j = 0;

	for (unsigned i = 0; i < sets->count; i++) {
		if (sets->e[i].owner == owner)
			close(sets->e[i].fd);
		else
			sets->e[j++] = sets->e[i];
	}
	sets->count = j;
}
