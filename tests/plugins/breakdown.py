"""Pytest fixtures for the breakdown tests (loaded by tests/conftest.py)."""
