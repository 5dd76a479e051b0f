"""Benchmarks, the load harness and the framework-ceiling endpoint (see bench/README.md)."""
