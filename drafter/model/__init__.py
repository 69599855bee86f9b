"""The plan model and the section registry: what a plan is, with no I/O."""
