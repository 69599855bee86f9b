"""Use cases the CLI, batch and editors call: spec-to-plan, check, batch, editor files."""
