"""Developer tooling: run the local platform (make up/down/status), the demo and benchmarks."""
