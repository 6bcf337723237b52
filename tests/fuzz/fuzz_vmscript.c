/*
 * libFuzzer target for the sim backend's guest-script parser
 * (devmodel/sim/vmscript.c): any bytes must parse into steps or be refused
 * with file:line:col errors; no crash, hang or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/sim/vmscript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	char *text = malloc(size + 1);
	struct vms_script *script;

	if (!text)
		return 0;
	if (!sink)
		sink = fopen("/dev/null", "w");
	memcpy(text, data, size);
	text[size] = '\0';
	script = vms_parse_string(text, "fuzz.vmscript", sink);
	if (script) {
		/* every step is well formed: sizes, counts and names in range */
		for (unsigned i = 0; i < script->step_count; i++) {
			const struct vms_step *s = &script->steps[i];

			if (s->line == 0 || !s->text)
				__builtin_trap();
			if ((s->op == VMS_FILL || s->op == VMS_CHECK) && s->byte_count && !s->bytes)
				__builtin_trap();
		}
	}
	vms_free(script);
	free(text);
	return 0;
}
