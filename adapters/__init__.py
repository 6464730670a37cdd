"""Platform adapters (Slack, Discord): convert platform events to neutral inquiries and render answers.

Adapters hold no business logic; everything they decide comes from :mod:`bot.service`.
"""
