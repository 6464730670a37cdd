"""`python -m adapters.slack`: run the Slack adapter (see adapters/slack/process.py)."""

import sys

from adapters.slack.process import main

sys.exit(main())
