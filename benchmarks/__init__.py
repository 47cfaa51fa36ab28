"""Benchmarks (run with `make bench`, i.e. `python benchmarks/run.py`). Not collected by pytest."""
