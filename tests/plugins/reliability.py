"""Pytest fixtures for the reliability tests (loaded by tests/conftest.py)."""
