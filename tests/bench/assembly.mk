# tests/bench/assembly.mk: VM assembly time for 10k and 100k vdevs (n log n, not n^2).
BENCHES += tests/bench/assembly.sh
