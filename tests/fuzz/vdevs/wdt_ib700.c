/* vdevs/wdt-ib700 compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_wdt_ib700
#include "vdevs/wdt-ib700/wdt-ib700.c"
