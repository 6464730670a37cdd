"""The offline evaluation harness behind `supportbot eval`.

datasets.py reads question sets, corpus.py indexes a corpus with the product's own pipeline into
its own data directory, runner.py asks every question through SupportBot (thread memory and
follow-up rewriting included), baselines.py ranks the same index the simple way, metrics.py
turns results into figures, and report.py writes them as JSON, Markdown and a rich table.
"""
