/* vdevs/pci-dummy compiled into fuzz_vdevs, its entry renamed (tests/fuzz/fuzz_vdevs.c). */
#define vdev_plugin_entry fuzz_entry_pci_dummy
#include "vdevs/pci-dummy/pci-dummy.c"
