/* vdevs/ser8250 compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_ser8250
#include "vdevs/common/hostio.c"
#include "vdevs/ser8250/ser8250.c"
