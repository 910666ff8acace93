"""Benchmarks run by scripts/bench; `sync` measures the offline sync path end to end."""
