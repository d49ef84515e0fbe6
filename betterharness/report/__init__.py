"""Markdown reports of runs, sweeps and optimize runs."""
