"""Pytest fixtures for the client tests (loaded by tests/conftest.py)."""
