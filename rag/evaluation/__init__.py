"""Measuring quality and speed: eval metrics and runs, the naive baseline, bench, load test."""
