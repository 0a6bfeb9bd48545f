"""Darkroom benchmarks (``make bench``): each writes a JSON report to bench/results/."""
