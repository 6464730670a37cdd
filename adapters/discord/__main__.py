"""`python -m adapters.discord`: run the Discord adapter (see adapters/discord/process.py)."""

import sys

from adapters.discord.process import main

if __name__ == "__main__":
    sys.exit(main())
