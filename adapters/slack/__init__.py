"""The Slack adapter: Slack payloads in, the service's answers out as Block Kit (see app.py)."""
