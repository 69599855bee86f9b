"""Talking to model providers: identity, the structured call, limiter, cache, cassette, usage."""
