"""Shared plumbing for the benchmark scripts: a real Redis and a real server process."""
