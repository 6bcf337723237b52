/* vdevs/8259 compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_i8259
#include "vdevs/8259/8259.c"
