/* vdevs/mc146818 compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_mc146818
#include "vdevs/mc146818/mc146818.c"
