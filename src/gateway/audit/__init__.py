"""Append-only, hash-chained audit event log."""
