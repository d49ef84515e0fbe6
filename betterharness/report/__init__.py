"""Reports a person reads: runs, sweeps, optimize runs, suite maintenance, and proposals under review."""

from betterharness.report.optimize import render_optimize_report
from betterharness.report.run import render_run_report
from betterharness.report.sweep import write_sweep_summary

__all__ = ["render_optimize_report", "render_run_report", "write_sweep_summary"]
