"""`python -m tests.adapters.discord.against_fakes --config …`: the Discord adapter's real `main`,
with discord.py pointed at the local fakes (REST and gateway) instead of discord.com. Test only:
the process tests run this exactly as an operator runs `python -m adapters.discord`."""

import os
import sys

import discord.http
import yarl
from discord.gateway import DiscordWebSocket

from adapters.discord.process import main

discord.http.Route.BASE = os.environ["FAKE_DISCORD_API"]
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
