"""Thread checks: questions the dev set does not ask, built from it with a fixed seed.

The dev dialogues never change topic and never go off-topic, but real threads do. Two checks put
questions into other dialogues' threads (their earlier turns become the thread's memory):

- ``new_topic``: a dialogue's first question asked in a thread about another page; the bot must
  still find the question's own page (top 5) and answer it.
- ``offtopic_in_thread``: an off-topic request asked in a dev thread; the bot must decline it
  although the thread's context would ground almost anything.
"""

from __future__ import annotations

import random
from dataclasses import replace

from bot.evaluation.datasets import ANSWERABLE, OFFTOPIC, EvalCase
from bot.types import Turn

NEW_TOPIC, OFFTOPIC_IN_THREAD = "new_topic", "offtopic_in_thread"
SEED = 20260514
MIN_THREAD_TURNS = 2


def thread_checks(cases: list[EvalCase], count: int, seed: int = SEED) -> list[EvalCase]:
    """Up to `count` cases of each check, drawn from `cases` (their own figures are untouched)."""
    rng = random.Random(seed)
    threads = [c for c in cases if c.kind == ANSWERABLE and not c.check and len(c.history) >= MIN_THREAD_TURNS]
    firsts = [c for c in cases if c.kind == ANSWERABLE and not c.check and not c.history]
    offtopic = [c for c in cases if c.kind == OFFTOPIC and not c.check]
    if not threads:
        return []
    checks = []
    for case in rng.sample(firsts, min(count, len(firsts))):
        # A thread about another page (any domain), so the question is a new topic there.
        others = [thread for thread in threads if thread.group != case.group]
        if others:
            thread = rng.choice(others)
            checks.append(replace(case, id=f"{NEW_TOPIC}:{case.id}", history=_memory(thread), check=NEW_TOPIC))
    for case in rng.sample(offtopic, min(count, len(offtopic))):
        thread = rng.choice(threads)
        checks.append(replace(case, id=f"{OFFTOPIC_IN_THREAD}:{case.id}", history=_memory(thread),
                              check=OFFTOPIC_IN_THREAD))
    return checks


def _memory(thread: EvalCase) -> tuple[Turn, ...]:
    # The thread as the bot remembers it when the new message arrives: its turns so far and the
    # question its user asked last (the agent's reply to it is not in the data).
    return (*thread.history, Turn("user", thread.question))
