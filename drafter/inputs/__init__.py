"""Reading what a plan is drafted from: the spec and the constitution."""
