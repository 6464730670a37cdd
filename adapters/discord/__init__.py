"""The Discord adapter: discord.py in front of bot.service.SupportBot (`python -m adapters.discord`)."""
