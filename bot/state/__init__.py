"""Conversation state in Redis: memory, the answer cache, records, dedupe, limits and locks.

Every component takes a RedisState (connection.py) and fails with StateUnavailable when Redis is
down; the service treats state as an optimisation and answers without it.
"""
