"""Load generators and benchmarks for Lyceum, each measured against a bare baseline.

``python -m bench`` (``make bench``) runs them; see docs/PERFORMANCE.md.
"""
