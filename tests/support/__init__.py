"""Test helpers: a real Redis, a stub OpenAI-compatible server, polling."""
