"""Config schema, validation with clear errors, and the experiment identity hash."""
