"""Benchmarks: JSON results, run on loopback against real services."""
