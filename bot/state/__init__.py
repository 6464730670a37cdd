"""Conversation state: memory, the answer cache, answer and escalation records.

Each is a small async protocol with an in-process implementation here; the Redis issue adds
Redis-backed ones with the same methods, so the service does not change.
"""
