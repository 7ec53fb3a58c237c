"""Benchmarks of vitec_nb against the naive requests loop; run `python benchmarks/run.py`."""
