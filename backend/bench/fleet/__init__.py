"""`scripts/bench fleet`: an open-loop day of a delivery fleet against the API (docs/benchmarks.md)."""
