"""Placeholder replaced by the sync engine."""
