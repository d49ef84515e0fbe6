"""The hill-climbing loop: diagnose, propose, gate, review, finish."""
