"""Benchmarks: `make bench-*`, each printing its figures and writing bench/results/NAME.json."""
