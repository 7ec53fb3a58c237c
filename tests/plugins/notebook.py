"""Pytest fixtures for the notebook tests (loaded by tests/conftest.py)."""
