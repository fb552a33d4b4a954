"""Benchmarks: runnable scripts that print ratios measured in one run (see docs/benchmarks.md).

Run one with ``python -m benchmarks.<name>``; they are not part of the test suite.
"""
