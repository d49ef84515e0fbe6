"""betterharness: improve an agent harness with tagged evals as the training data."""

__version__ = "0.1.0"
