"""Benchmarks, each runnable as `transom bench NAME`."""
