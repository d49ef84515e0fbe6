"""Eval cases: the schema, loading, splitting, importing and mining."""
