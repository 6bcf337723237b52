# samples/guests/hvm-boot: the checks of the real-Xen HVM run (bootsect.S:
# PASS lines on COM1 checking the platform hvmloader left, then power-off
# through PM1a_CNT), built twice:
#  - $(O)/guests/hvm-boot.img: a raw disk image, the boot sector then
#    zeroes to 1 MiB, for vdm's boot disk;
#  - $(O)/guests/hvm-boot.rom: a 1 KiB PCI expansion ROM (-DOPTION_ROM,
#    checksummed) for `vdev pci-dummy rom-file ...`, which SeaBIOS runs
#    during POST.

HVM_BOOT_DIR := $(O)/guests/hvm-boot
HVM_BOOT_IMG := $(O)/guests/hvm-boot.img
HVM_BOOT_ROM := $(O)/guests/hvm-boot.rom

$(HVM_BOOT_DIR)/bootsect.o: samples/guests/hvm-boot/bootsect.S
	@mkdir -p $(@D)
	$(CC) -m32 -ffreestanding -nostdlib -c -o $@ $<

$(HVM_BOOT_DIR)/rom.o: samples/guests/hvm-boot/bootsect.S
	@mkdir -p $(@D)
	$(CC) -m32 -ffreestanding -nostdlib -DOPTION_ROM -c -o $@ $<

$(HVM_BOOT_DIR)/bootsect.bin: $(HVM_BOOT_DIR)/bootsect.o
	ld -m elf_i386 -Ttext 0x7c00 -e _start --oformat binary -o $@ $<
	@test $$(stat -c %s $@) -eq 512 || { echo "$@: not one 512-byte sector"; rm -f $@; exit 1; }

# The ROM's last byte makes the sum of all its bytes 0 (SeaBIOS checks it).
$(HVM_BOOT_ROM): $(HVM_BOOT_DIR)/rom.o
	ld -m elf_i386 -Ttext 0 -e _start --oformat binary -o $@.tmp $<
	@test $$(stat -c %s $@.tmp) -eq 1024 || { echo "$@: not a 1 KiB ROM"; rm -f $@.tmp; exit 1; }
	sum=$$(od -An -v -tu1 $@.tmp | awk '{ for (i = 1; i <= NF; i++) s += $$i } END { print (256 - s % 256) % 256 }'); \
		printf "$$(printf '\\%03o' $$sum)" | dd of=$@.tmp bs=1 seek=1023 conv=notrunc status=none
	mv $@.tmp $@

$(HVM_BOOT_IMG): $(HVM_BOOT_DIR)/bootsect.bin
	cp $< $@.tmp
	truncate -s 1M $@.tmp
	mv $@.tmp $@

GUESTS += $(HVM_BOOT_IMG) $(HVM_BOOT_ROM)
