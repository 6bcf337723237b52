/*
 * devmodel/backend.c: the list of backends compiled into this vdm.
 * Filled by constructors before main() runs, read-only afterwards.
 */
#include "devmodel/backend.h"

#include <string.h>

static const struct backend_ops *backend_list;

void backend_register(struct backend_ops *ops)
{
	ops->next = backend_list;
	backend_list = ops;
}

const struct backend_ops *backend_find(const char *name)
{
	for (const struct backend_ops *b = backend_list; b; b = b->next)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

const struct backend_ops *backend_first(void)
{
	return backend_list;
}
