"""The agent loop, its simulated user and its tool environments."""
