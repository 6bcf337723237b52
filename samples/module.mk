# samples/module.mk: the sample guests (samples/guests/*.c), each one
# freestanding 32-bit ELF with a PVH entry note, built with the system
# compiler. They are guests, not host code: no libc, no host flags, no
# sanitizers, their own object directory.

GUEST_DIR := $(O)/guests
GUEST_NAMES := hello irq inject exitbench pic-pit ioapic-pit isa-pit dump uart rtc pci virtio-entropy virtio-blk virtio-pci virtio-console virtio-net shmem blkbench lines-high
GUEST_RT_OBJS := $(addprefix $(GUEST_DIR)/rt/,start.o irq_entry.o rt.o pc.o virtio.o)
GUEST_CFLAGS := -m32 -march=i686 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-mgeneral-regs-only -mno-red-zone -O2 -g -std=gnu11 $(WARNINGS) -Isamples/guests
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-T,samples/guests/rt/guest.ld -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUESTS += $(addprefix $(GUEST_DIR)/,$(addsuffix .elf,$(GUEST_NAMES)))

$(GUEST_DIR)/%.o: samples/guests/%.c samples/guests/rt/rt.h samples/guests/rt/pc.h samples/guests/rt/rt_layout.h \
		samples/guests/rt/virtio.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_DIR)/%.o: samples/guests/%.S samples/guests/rt/rt_layout.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_DIR)/%.elf: $(GUEST_DIR)/%.o $(GUEST_RT_OBJS) samples/guests/rt/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_RT_OBJS)

# Keep the objects (make would delete them as intermediates).
.SECONDARY: $(GUEST_RT_OBJS) $(addprefix $(GUEST_DIR)/,$(addsuffix .o,$(GUEST_NAMES)))

# The HVM boot sector and its disk image (a 16-bit binary, not a PVH ELF).
include samples/guests/hvm-boot/module.mk
