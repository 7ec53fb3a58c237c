"""Pytest fixtures for the standin tests (loaded by tests/conftest.py)."""
