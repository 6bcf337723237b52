/* vdevs/ioapic compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_ioapic
#include "vdevs/ioapic/ioapic.c"
