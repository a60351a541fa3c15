"""Benchmarks run by `make bench`: each prints ratios against a baseline timed in the same process."""
