"""Foundations every layer may use: errors, settings, atomic files, shipped resources."""
