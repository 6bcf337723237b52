/*
 * conf/asinfo.c: the host's named address-space entries for
 * $asinfo_start{NAME} / $asinfo_length{NAME}. On Linux the nearest thing to
 * QNX's system-page asinfo is /proc/iomem; its top-level lines
 * "start-end : name" become entries (addresses read as 0 without
 * CAP_SYS_ADMIN, which is what the kernel shows).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

void conf_asinfo_free(struct conf_asinfo *table, unsigned count)
{
	if (!table)
		return;
	for (unsigned i = 0; i < count; i++)
		free((char *)table[i].name);
	free(table);
}

int conf_asinfo_load_iomem(const char *path, struct conf_asinfo **table)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	struct conf_asinfo *t = NULL;
	unsigned count = 0;
	int rc = 0;

	if (!table)
		return -EINVAL;
	*table = NULL;
	f = fopen(path ? path : "/proc/iomem", "r");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long start, end;
		int name_at = 0;
		char *name, *nl;
		struct conf_asinfo *e;

		/* Nested entries are indented: only top-level ones have names
		 * that identify a region on their own. */
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		if (sscanf(line, "%llx-%llx : %n", &start, &end, &name_at) < 2 || name_at == 0 ||
		    end < start)
			continue;
		name = line + name_at;
		nl = strchr(name, '\n');
		if (nl)
			*nl = '\0';
		if (!name[0])
			continue;
		e = conf_array_push(&t, &count, sizeof(*e));
		if (!e || !(e->name = strdup(name))) {
			if (e)
				count--;
			rc = -ENOMEM;
			break;
		}
		e->start = start;
		e->length = end - start + 1; /* 0 for 0-ffffffffffffffff: cannot be named */
	}
	free(line);
	fclose(f);
	if (rc) {
		conf_asinfo_free(t, count);
		return rc;
	}
	*table = t;
	return (int)count;
}
