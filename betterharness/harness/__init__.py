"""Harness template sets, versions and diffs."""
