# samples/guests/hvm-boot: the boot sector of the real-Xen HVM run
# (bootsect.S: PASS lines on COM1 checking the platform hvmloader left,
# then power-off through PM1a_CNT) and a raw disk image of it, for vdm's
# boot disk: $(O)/guests/hvm-boot.img (the sector, then zeroes to 1 MiB).

HVM_BOOT_BIN := $(O)/guests/hvm-boot/bootsect.bin
HVM_BOOT_IMG := $(O)/guests/hvm-boot.img

$(O)/guests/hvm-boot/bootsect.o: samples/guests/hvm-boot/bootsect.S
	@mkdir -p $(@D)
	$(CC) -m32 -ffreestanding -nostdlib -c -o $@ $<

$(HVM_BOOT_BIN): $(O)/guests/hvm-boot/bootsect.o
	ld -m elf_i386 -Ttext 0x7c00 -e _start --oformat binary -o $@ $<
	@test $$(stat -c %s $@) -eq 512 || { echo "$@: not one 512-byte sector"; rm -f $@; exit 1; }

$(HVM_BOOT_IMG): $(HVM_BOOT_BIN)
	cp $< $@.tmp
	truncate -s 1M $@.tmp
	mv $@.tmp $@

GUESTS += $(HVM_BOOT_IMG)
