/* vdevs/debug-exit compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_debug_exit
#include "vdevs/debug-exit/debug-exit.c"
