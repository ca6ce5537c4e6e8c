"""Benchmark suite (issue 8): data generator, load runner and batch timings. Not part of pytest."""
