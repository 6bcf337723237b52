# The request path (ioreq engine, dm_request_execute, iomap, guest memory) as a fuzz target.
FUZZERS += tests/fuzz/fuzz_ioreq.c:devmodel/ioreq_engine.c:devmodel/request.c:devmodel/iomap.c:devmodel/guest_mem.c:tests/fuzz/seeds/ioreq/
