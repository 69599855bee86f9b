"""PLAN.md as text: rendering, reading back, outline and finding placement."""
