# The QMP protocol fuzz target: the session and command sources, json-c
# (-l items are linker flags, see tests/fuzz/run) and libxl-like seeds.
FUZZERS += tests/fuzz/fuzz_qmp.c:devmodel/qmp/qmp_session.c:devmodel/qmp/qmp_commands.c:devmodel/qmp/qmp_fdset.c:-ljson-c:tests/fuzz/qmp-seeds/
