# tests/teardown/lines.sh: sourced by sim-lines-high.sh and
# kvm-lines-high.sh: the controllers and devices they wire, and the orders
# they are configured in.

# part_conf PART: the config line of a controller or device.
part_conf() {
	case $1 in
	pic) echo "vdev 8259 name pic intr cpu:0" ;;
	pic-on-ioapic) echo "vdev 8259 name pic intr ioapic:0" ;;
	ioapic) echo "vdev ioapic name ioapic loc mem:0xfec00000 intr apic" ;;
	pit) echo "vdev timer8254 intr pic:0" ;;
	com1) echo "vdev ser8250 loc io:0x3f8 intr ioapic:4" ;;
	com2) echo "vdev ser8250 loc io:0x2f8 intr pic:3" ;;
	rtc) echo "vdev mc146818 intr ioapic:8" ;;
	esac
}
# Device orders: every rotation of the four devices and its reverse.
orders() {
	set -- pit com1 com2 rtc
	for _ in 1 2 3 4; do
		echo "$*"
		echo "$4 $3 $2 $1"
		set -- "$2" "$3" "$4" "$1"
	done
}

# The controller arrangements: the 8259 to cpu:0 before or after the
# I/O APIC, and the 8259 cascaded into I/O APIC pin 0.
CONTROLLER_SETS="pic ioapic|ioapic pic|ioapic pic-on-ioapic"
