/*
 * conf/vm.c: the VM tree's memory. Strings live in a list of blocks owned
 * by a private wrapper around struct conf_vm, so that the public struct
 * stays plain data and conf_vm_free releases everything in one place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf/internal.h"

struct vm_string {
	struct vm_string *next;
	char text[];
};

struct vm_impl {
	struct conf_vm vm; /* first: the public pointer is the wrapper's */
	struct vm_string *strings;
};

struct conf_vm *conf_vm_new(void)
{
	struct vm_impl *impl = calloc(1, sizeof(*impl));

	if (!impl)
		return NULL;
	impl->vm.unsupported[CONF_UNSUP_INSTRUCTION] = CONF_UNSUP_FAIL;
	impl->vm.unsupported[CONF_UNSUP_REFERENCE] = CONF_UNSUP_IGNORE;
	impl->vm.unsupported[CONF_UNSUP_REGISTER] = CONF_UNSUP_FAIL;
	return &impl->vm;
}

char *conf_vm_strndup(struct conf_vm *vm, const char *s, size_t n)
{
	struct vm_impl *impl = (struct vm_impl *)vm;
	struct vm_string *str;

	if (!s)
		return NULL;
	n = strnlen(s, n);
	str = malloc(sizeof(*str) + n + 1);
	if (!str)
		return NULL;
	memcpy(str->text, s, n);
	str->text[n] = '\0';
	str->next = impl->strings;
	impl->strings = str;
	return str->text;
}

char *conf_vm_strdup(struct conf_vm *vm, const char *s)
{
	return s ? conf_vm_strndup(vm, s, strlen(s)) : NULL;
}

const char *conf_vm_add_file(struct conf_vm *vm, const char *name)
{
	char **slot;
	char *copy;

	for (unsigned i = 0; i < vm->file_count; i++)
		if (strcmp(vm->files[i], name) == 0)
			return vm->files[i];
	copy = strdup(name);
	if (!copy)
		return NULL;
	slot = conf_array_push(&vm->files, &vm->file_count, sizeof(*slot));
	if (!slot) {
		free(copy);
		return NULL;
	}
	*slot = copy;
	return copy;
}

static void region_ctx_free(struct conf_region_ctx *r)
{
	free(r->locs);
	free(r->intrs);
}

void conf_vm_free(struct conf_vm *vm)
{
	struct vm_impl *impl = (struct vm_impl *)vm;

	if (!vm)
		return;
	for (unsigned i = 0; i < vm->cpu_count; i++)
		free(vm->cpus[i].sets);
	free(vm->cpus);
	free(vm->rams);
	free(vm->roms);
	free(vm->loads);
	for (unsigned i = 0; i < vm->pass_count; i++)
		region_ctx_free(&vm->passes[i]);
	free(vm->passes);
	for (unsigned i = 0; i < vm->reserve_count; i++)
		region_ctx_free(&vm->reserves[i]);
	free(vm->reserves);
	for (unsigned i = 0; i < vm->vdev_count; i++) {
		free(vm->vdevs[i].locs);
		free(vm->vdevs[i].intrs);
		free(vm->vdevs[i].options);
		free(vm->vdevs[i].sets);
	}
	free(vm->vdevs);
	free(vm->loggers);
	free(vm->sets);
	for (unsigned i = 0; i < vm->file_count; i++)
		free(vm->files[i]);
	free(vm->files);
	while (impl->strings) {
		struct vm_string *next = impl->strings->next;

		free(impl->strings);
		impl->strings = next;
	}
	free(impl);
}
