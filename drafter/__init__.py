"""drafter: turn a feature spec and a project constitution into an implementation plan."""

__version__ = "0.1.0"
