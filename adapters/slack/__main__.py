"""`python -m adapters.slack`: run the Slack adapter (see adapters/slack/app.py)."""

import sys

from adapters.slack.app import main

sys.exit(main())
