/* vdevs/timer8254 compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_timer8254
#include "vdevs/timer8254/timer8254.c"
