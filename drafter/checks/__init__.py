"""Checking a plan: structural findings, constitution verdicts, the report."""
