/* vdevs/pckeyboard compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_pckeyboard
#include "vdevs/pckeyboard/pckeyboard.c"
