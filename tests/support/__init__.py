"""Fixtures and helpers shared by every stage's tests (registered in tests/conftest.py)."""
