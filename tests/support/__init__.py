"""Helpers shared by the test modules (importable because pytest puts tests/ on the path)."""
