"""Shared helpers for the test suite (importable as `support` from any test)."""
