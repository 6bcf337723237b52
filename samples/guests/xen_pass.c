/*
 * samples/guests/xen_pass.c: vdm's `pass` on real Xen (tests/xen-e2e): the
 * host's QEMU fw_cfg ports 0x510-0x511 (the machine Xen runs on in the
 * end-to-end test) are given to this PVH guest with `pass loc io:0x510,2`,
 * so its port I/O there reaches the hardware through Xen's ioport mapping,
 * never vdm. Reading the fw_cfg signature proves it: selector 0 (written to
 * 0x510), then four data bytes from 0x511 read "QEMU".
 */
#include "rt/rt.h"

void guest_main(void)
{
	char sig[5] = "";

	outw(0x510, 0x0000); /* FW_CFG_SIGNATURE */
	for (unsigned i = 0; i < 4; i++)
		sig[i] = (char)inb(0x511);
	rt_printf("fw_cfg signature through pass: \"%s\"\n", sig);
	rt_check("pass-ioport-fwcfg",
		 sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U');
}
