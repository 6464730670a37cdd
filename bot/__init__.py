"""supportbot's platform-neutral core: knowledge, answering, state and the SupportBot service."""

__version__ = "0.1.0"
