"""the dashboard's "what if": a policy's estimated value on an experiment's own logged traffic."""
