"""Test helpers for drafter and its users: a fake OpenAI-compatible provider.

Import from the module (`drafter.testing.fake_openai`); this package imports nothing, so
`python -m drafter.testing.fake_openai` starts without loading the server twice.
"""
