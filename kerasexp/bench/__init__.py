"""Throughput benchmarks: one timing harness (timing.py), and a thin caller per bench."""
