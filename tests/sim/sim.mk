# Whole vdm on the sim backend: guest scripts in both sim modes.
CHECK_SCRIPTS += tests/sim/run-scripts.sh
CHECK_SCRIPTS += tests/sim/control-socket.sh tests/sim/signals.sh tests/sim/log-flood.sh
