/*
 * conf/print.c: the resolved VM description in a stable text form
 * (`vdm --check`, tests). One line per element, nested details indented by
 * two spaces, numbers in hex, every default made explicit; locations and
 * interrupts are written back in the canonical config syntax.
 */
#include <inttypes.h>

#include "conf/internal.h"

static const char *const filter_names[] = {"fatal", "internal", "error",  "warn",
					   "info",  "debug",	"verbose"};
static const char *const dest_names[] = {"stdout", "stderr", "slog", "none"};
static const char *const unsup_kind_names[] = {"instruction", "reference", "register"};
static const char *const unsup_action_names[] = {"abort", "fail", "ignore"};

static void print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void print_vdev_loc(FILE *out, const struct vdev_loc *l)
{
	switch (l->kind) {
	case VDEV_LOC_ADDR:
		fprintf(out, "%s0x%" PRIx64, l->space == VDEV_SPACE_PIO ? "io:" : "mem:", l->base);
		if (l->length)
			fprintf(out, ",0x%" PRIx64, l->length);
		break;
	case VDEV_LOC_PCI_BDF:
		fprintf(out, "pci:%u:%u.%u", l->bus, l->dev, l->fn);
		break;
	case VDEV_LOC_PCI_ID:
		fprintf(out, "pci:0x%04x/0x%04x", l->vendor, l->device);
		break;
	}
}

static void print_locs(FILE *out, const struct conf_loc *locs, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		const struct conf_loc *l = &locs[i];

		fputs("  loc ", out);
		print_vdev_loc(out, &l->loc);
		if (l->pass_flags)
			fprintf(out, ",%s", l->pass_flags);
		if (l->has_host) {
			fputc('=', out);
			if (l->host.kind == VDEV_LOC_ADDR)
				fprintf(out, "0x%" PRIx64, l->host.base);
			else
				print_vdev_loc(out, &l->host);
		}
		fputc('\n', out);
	}
}

static void print_intrs(FILE *out, const struct conf_intr *intrs, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		const struct conf_intr *in = &intrs[i];

		fputs("  intr ", out);
		if (in->controller)
			fputs(in->controller, out);
		if (in->controller && in->has_line)
			fputc(':', out);
		if (in->has_line)
			fprintf(out, "%u", in->line);
		if (in->unmask)
			fputs(",u", out);
		if (in->ist)
			fputs(",t", out);
		if (in->has_vector)
			fprintf(out, "=%u", in->vector);
		fputc('\n', out);
	}
}

static void print_options(FILE *out, const char *kind, const struct conf_option *o, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "  %s %s", kind, o[i].name);
		if (o[i].value) {
			fputc(' ', out);
			print_quoted(out, o[i].value);
		}
		fputc('\n', out);
	}
}

static void print_log_spec(FILE *out, const struct conf_logger *l)
{
	bool first = true;

	for (unsigned k = 0; k < 7; k++) {
		if (!(l->filters & (1u << k)))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", filter_names[k]);
		first = false;
	}
	fprintf(out, "%s%s", first ? "" : " ", dest_names[l->dest <= CONF_LOG_NONE ? l->dest : 0]);
}

static void print_memory(FILE *out, const char *kind, const struct conf_memory *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "%s %u: 0x%" PRIx64 ",0x%" PRIx64 "%s\n", kind, i, m[i].start,
			m[i].length, m[i].has_start ? "" : " (placed)");
}

static void print_regions(FILE *out, const char *kind, const struct conf_region_ctx *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "%s %u:", kind, i);
		if (r[i].blob_type)
			fprintf(out, " blob %s", r[i].blob_type);
		fputc('\n', out);
		print_locs(out, r[i].locs, r[i].loc_count);
		print_intrs(out, r[i].intrs, r[i].intr_count);
	}
}

void conf_vm_print(const struct conf_vm *vm, FILE *out)
{
	if (!vm || !out)
		return;
	fputs("system: ", out);
	fputs(vm->system ? vm->system : "(none)", out);
	fputc('\n', out);

	if (vm->cpu_count == 0)
		fputs("cpu (default): one vCPU\n", out);
	for (unsigned i = 0; i < vm->cpu_count; i++) {
		const struct conf_cpu *c = &vm->cpus[i];

		fprintf(out, "cpu %u:", i);
		if (c->has_sched)
			fprintf(out, " sched %d%.1s", c->sched_priority, &c->sched_policy);
		if (c->has_runmask)
			fprintf(out, " runmask 0x%" PRIx64, c->runmask);
		if (c->partition)
			fprintf(out, " partition %s", c->partition);
		fputc('\n', out);
		print_options(out, "set", c->sets, c->set_count);
	}

	print_memory(out, "ram", vm->rams, vm->ram_count);
	print_memory(out, "rom", vm->roms, vm->rom_count);

	for (unsigned i = 0; i < vm->load_count; i++) {
		const struct conf_load *l = &vm->loads[i];

		fprintf(out, "load %u: %s", i, l->blob_type ? l->blob_type : "(sniff)");
		if (l->has_address)
			fprintf(out, " at 0x%" PRIx64, l->address);
		fprintf(out, " %s\n", l->path);
	}

	print_regions(out, "pass", vm->passes, vm->pass_count);
	print_regions(out, "reserve", vm->reserves, vm->reserve_count);

	for (unsigned i = 0; i < vm->vdev_count; i++) {
		const struct conf_vdev *v = &vm->vdevs[i];

		fprintf(out, "vdev %u: %s", i, v->type ? v->type : "(no type)");
		if (v->name)
			fprintf(out, " name %s", v->name);
		fputc('\n', out);
		print_locs(out, v->locs, v->loc_count);
		print_intrs(out, v->intrs, v->intr_count);
		if (v->isolate)
			fprintf(out, "  isolate on-failure=%s,timeout=%u\n",
				v->isolate_terminate ? "terminate" : "ignore",
				v->isolate_timeout_ms ? v->isolate_timeout_ms : 1000u);
		if (v->log) {
			fputs("  log ", out);
			print_log_spec(out, &v->log_spec);
			fputc('\n', out);
		}
		print_options(out, "option", v->options, v->option_count);
		print_options(out, "set", v->sets, v->set_count);
	}

	if (vm->logger_count == 0)
		fputs("logger (default): fatal,internal,error,warn,info stderr\n", out);
	for (unsigned i = 0; i < vm->logger_count; i++) {
		fprintf(out, "logger %u: ", i);
		print_log_spec(out, &vm->loggers[i]);
		fputc('\n', out);
	}

	fputs("unsupported:", out);
	for (unsigned k = 0; k < 3; k++) {
		unsigned a = vm->unsupported[k];

		fprintf(out, " %s %s", unsup_kind_names[k], a < 3 ? unsup_action_names[a] : "?");
	}
	fputc('\n', out);

	for (unsigned i = 0; i < vm->set_count; i++) {
		fprintf(out, "set %s ", vm->sets[i].name);
		print_quoted(out, vm->sets[i].value);
		fputc('\n', out);
	}
	fputs("cmdline: ", out);
	if (vm->cmdline)
		print_quoted(out, vm->cmdline);
	else
		fputs("(none)", out);
	fputs("\ndump: ", out);
	if (vm->dump)
		print_quoted(out, vm->dump);
	else
		fputs("(none)", out);
	fprintf(out, "\ndryrun: %s\n", vm->dryrun ? "yes" : "no");
}
