"""One cog per kind of Discord input: messages, buttons (hand-over and feedback), slash commands."""
