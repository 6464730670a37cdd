"""Two Slack workers, one Redis: signed event deliveries through a round-robin proxy.

Starts two `python -m adapters.slack` processes in HTTP mode (each its own port), a small local
round-robin proxy in front of them (what a load balancer does), one Redis (REDIS_URL, or a
throwaway server like the tests'), one local index both workers read, the strict Slack Web API
fake (tests/fakes/slack_api.py) and the fake Claude in a process of its own with a `--delay`
second reply. Then it sends (all at once, or evenly over `--spread-s`) `--events` signed deliveries of distinct DM questions from distinct
users; `--retried` of them (10%) are delivered a second time with X-Slack-Retry-Num, as Slack
does when it doubts the first delivery, so round robin takes the retry to the other worker.

It checks what it timed and exits 1 otherwise: every delivery acknowledged (HTTP 200) within 3 s,
exactly one bot reply per event (none twice although both workers saw the retried ones), every
reply the model's answer, no call the Slack fake refused. Prints ack and reply times (p50, p95,
max) and how the deliveries split between the workers.

`--kill-halfway` sends the events as a stream (over 60 s unless `--spread-s` says otherwise) and
SIGKILLs worker 0 halfway through. Deliveries go out by Slack's retry rules (bench/slack_delivery.py):
what the dead worker had not acknowledged (its workers hold an acknowledgement until the reply is
posted, slack.hold_ack_s = 2) fails, and Slack retries it with X-Slack-Retry-Num; the proxy takes the dead
worker out of its rotation, so the retries reach the survivor, which takes each event over once
the dead worker's lease lapsed (redis.event_lease_s). Checked: every event acknowledged by one of
Slack's attempts within 3 s, exactly one complete reply per event, none twice, the model asked at
most once more per delivery the dead worker dropped. Printed besides: how many events a retry
recovered, and any message the dead worker left unfinished.

    .venv/bin/python bench/slack_http_load.py [--events 1000] [--retried 0.1] [--delay 1.0]
    .venv/bin/python bench/slack_http_load.py --kill-halfway [--spread-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")

import aiohttp  # noqa: E402

from bench.checks import percentile, require  # noqa: E402
from bench.model_process import ANSWER, ModelProcess  # noqa: E402
from bench.slack_delivery import (  # noqa: E402
    ACK_WITHIN_S,
    RoundRobinProxy,
    SlackSender,
    require_acknowledged,
)
from bot.knowledge.indexer import reindex  # noqa: E402
from bot.settings import KnowledgeSource, load_settings  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from tests import redis_server  # noqa: E402
from tests.adapters.processes import AdapterProcess  # noqa: E402
from tests.adapters.slack.harness import SIGNING_SECRET, event_body, new_ts, signed_headers  # noqa: E402
from tests.fakes import slack_api  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack  # noqa: E402

# Killing a worker needs a stream of events, not one burst: a burst leaves most events waiting
# longer than the acknowledgement is held (slack.hold_ack_s), and an event acknowledged before the
# kill is one Slack never redelivers.
KILL_SPREAD_S = 60.0
# A worker's death is recoverable only if it had not acknowledged the event: the kill run's workers
# hold each acknowledgement until the reply is posted, up to this (slack.hold_ack_s; off by default).
KILL_HOLD_ACK_S = 2.0
KILL_LEASE_S = 1.5  # redis.event_lease_s: lapses within the 2 s a retry may wait for it
QUESTION = "Can I return an opened item after 30 days? (order {n})"


class TimedSlack(FakeSlack):
    """The strict Slack fake, noting when each DM's reply became complete (not streaming, the
    model's text), so reply times need no polling."""

    def __init__(self, channels: dict[str, str]) -> None:
        super().__init__(channels=channels)
        self.completed: dict[str, float] = {}

    def handle(self, method, args, headers):
        answer = super().handle(method, args, headers)
        channel = args.get("channel")
        if channel and channel not in self.completed and any(
                not m["streaming"] and ANSWER[:20] in m["text"] for m in self.messages(channel)):
            self.completed[channel] = time.perf_counter()
        return answer


def dm(n: int) -> str:
    return f"D{n:08d}"  # each asker's own DM with the bot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def settings_text(data_dir: Path, port: int, slack_url: str, model_url: str, hold_ack_s: float = 0.0) -> str:
    kb = REPO / "config" / "knowledge"
    return "\n".join([
        f'data_dir = "{data_dir}"', f'prompts_dir = "{REPO / "prompts"}"', 'log_level = "WARNING"',
        "[[knowledge]]", f'path = "{kb / "public"}"', 'audience = "public"',
        "[[knowledge]]", f'path = "{kb / "staff"}"', 'audience = "staff"',
        "[slack]", 'mode = "http"', 'http_host = "127.0.0.1"', f"http_port = {port}",
        f'api_base_url = "{slack_url}"', 'escalation_channel = "CSTAFF"', 'staff_channels = ["CSTAFF"]',
        f"hold_ack_s = {hold_ack_s}",
        "[llm]", f'base_url = "{model_url}"', 'model = "claude-bench"', "max_retries = 0", "timeout_s = 60",
        "[cache]", "enabled = false",
    ]) + "\n"


def signed(n: int, ts: str, event_id: str):
    """The delivery of question n as Slack would sign each attempt (retry headers on retries)."""
    user = f"U{n:08d}"  # one user each: the rate limiter would turn a second question into "busy"
    body = event_body({"type": "message", "user": user, "text": QUESTION.format(n=n), "ts": ts, "channel": dm(n),
                       "channel_type": "im", "event_ts": ts, "team": "T0TEAM"}, event_id)

    def attempt(retry_num: int, reason: str) -> tuple[str, dict[str, str]]:
        extra = {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": reason} if retry_num else None
        return body, signed_headers(body, "application/json", extra=extra)

    return attempt


async def replies_done(slack: TimedSlack, sent: dict[str, float], timeout_s: float) -> dict[str, float]:
    """Seconds from each event's first delivery until its DM's reply was complete."""
    deadline = time.monotonic() + timeout_s
    while len(slack.completed) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # late duplicates (a retried delivery answered twice) would show by now
    return {channel: slack.completed[channel] - started for channel, started in sent.items()
            if channel in slack.completed}


async def run(args, slack: TimedSlack, model: ModelProcess, redis_url: str, workdir: Path) -> None:
    data_dir = workdir / "data"
    settings = load_settings(None, data_dir=data_dir, knowledge=[
        KnowledgeSource(path=REPO / "config/knowledge/public", audience="public"),
        KnowledgeSource(path=REPO / "config/knowledge/staff", audience="staff")])
    bot = build_bot(settings, answerer=None, long_running=False)
    reindex(settings, bot.index, bot.embeddings)  # one index both workers read
    await bot.close()

    ports = [free_port(), free_port()]
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "ANTHROPIC_API_KEY": "bench",
           "REDIS_URL": redis_url, "SUPPORTBOT_REDIS__KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:"}
    if args.kill_halfway:  # a retry waits within the held acknowledgement for the dead worker's lease
        env["SUPPORTBOT_REDIS__EVENT_LEASE_S"] = str(KILL_LEASE_S)
    workers = []
    for n, port in enumerate(ports):
        config = workdir / f"worker{n}.toml"
        config.write_text(settings_text(data_dir, port, slack.base_url, model.base_url,
                                        hold_ack_s=KILL_HOLD_ACK_S if args.kill_halfway else 0.0))
        workers.append(await AdapterProcess(["-m", "adapters.slack", "--config", str(config)],
                                            cwd=workdir, env=env).start())
    proxy = RoundRobinProxy(ports, free_port())
    try:
        for worker in workers:
            await worker.wait_for("Slack adapter listening", timeout_s=120)
        await proxy.start()
        await warm_up(args, slack, proxy)
        await send_and_check(args, slack, model, proxy, workers)
    except SystemExit:
        for n, worker in enumerate(workers):  # what the workers said, to see why
            (Path(tempfile.gettempdir()) / f"slack_http_load.worker{n}.log").write_text(worker.output)
            print(f"--- worker {n}, last lines:\n" + "\n".join(worker.lines[-15:]), file=sys.stderr)
        print(f"--- Slack methods called: {sorted(set(slack.methods()))}; whole logs in "
              f"{tempfile.gettempdir()}/slack_http_load.worker*.log", file=sys.stderr)
        raise
    finally:
        await proxy.stop()
        for worker in workers:
            await worker.kill()


async def warm_up(args, slack: TimedSlack, proxy: RoundRobinProxy) -> None:
    """One question per worker first (not timed): imports, the model client and the language
    model load on a worker's first question, which is not what a burst measures."""
    url = f"http://127.0.0.1:{proxy.port}/slack/events"
    async with aiohttp.ClientSession() as session:
        sender = SlackSender(session, url)
        for n in range(args.events, args.events + len(proxy.ports)):
            ts = new_ts()
            slack.add_user_message(dm(n), ts, f"U{n:08d}", QUESTION.format(n=n))
            event_id = f"Ev{uuid.uuid4().hex[:12]}"
            require((await sender.send(event_id, signed(n, ts, event_id))).acked, "a warm-up delivery was not acknowledged")
    deadline = time.monotonic() + 60
    while any(dm(n) not in slack.completed for n in range(args.events, args.events + len(proxy.ports))):
        require(time.monotonic() < deadline, "the warm-up questions got no reply within 60 s")
        await asyncio.sleep(0.05)
    proxy.sent = {port: 0 for port in proxy.ports}


async def send_and_check(args, slack: TimedSlack, model: ModelProcess, proxy: RoundRobinProxy,
                         workers: list[AdapterProcess]) -> None:
    url = f"http://127.0.0.1:{proxy.port}/slack/events"
    events = [(n, new_ts(), f"Ev{uuid.uuid4().hex[:12]}") for n in range(args.events)]
    for n, ts, _ in events:
        slack.add_user_message(dm(n), ts, f"U{n:08d}", QUESTION.format(n=n))
    retried = random.Random(7).sample(events, int(args.retried * args.events))
    asked_before = model.requests_served()
    sent: dict[str, float] = {}
    killed_at: list[float] = []

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sender = SlackSender(session, url)

        async def first(n, ts, event_id):
            await asyncio.sleep(args.spread_s * n / len(events))  # 0: all at once
            sent[dm(n)] = time.perf_counter()
            return await sender.send(event_id, signed(n, ts, event_id))

        async def again(n, ts, event_id):
            await asyncio.sleep(args.spread_s * n / len(events) + random.uniform(0.2, 1.5))  # while being answered
            return await sender.send(event_id, signed(n, ts, event_id), first_retry_num=1)

        async def kill_halfway():
            await asyncio.sleep(args.spread_s / 2)
            killed_at.append(time.perf_counter())
            workers[0].proc.kill()  # SIGKILL: no drain, no goodbye; in-flight requests just break

        started = time.perf_counter()
        kill = asyncio.create_task(kill_halfway()) if args.kill_halfway else None
        firsts = await asyncio.gather(*(first(*e) for e in events))
        duplicates = await asyncio.gather(*(again(*e) for e in retried))
        if kill:
            await kill
        replies = await replies_done(slack, sent, timeout_s=120)
        wall = time.perf_counter() - started

    if args.kill_halfway:
        acks = require_acknowledged(firsts + duplicates)
    else:  # no worker dies: every single delivery, retried or not, acknowledged within 3 s
        acks = [a.seconds or float("inf") for d in firsts + duplicates for a in d.attempts]
        slow = [a for a in acks if a > ACK_WITHIN_S]
        require(not slow, f"{len(slow)} of {len(acks)} deliveries not acknowledged within {ACK_WITHIN_S} s "
                          f"(max {max(acks):.2f} s)")
    complete = {dm(n): sum(1 for m in slack.messages(dm(n)) if not m["streaming"] and ANSWER[:20] in m["text"])
                for n, _, _ in events}
    unanswered = [channel for channel, count in complete.items() if count == 0]
    attempts = {dm(n): d for (n, _, _), d in zip(events, firsts, strict=True)}
    require(len(replies) == len(events) and not unanswered,
            f"{len(unanswered)} of {len(events)} events got no complete reply, e.g. "
            + "; ".join(f"{attempts[c].event_id}: " + ", ".join(
                f"try {a.retry_num} {a.reason or 'first'} at {a.sent_at - started:.1f} s -> {a.status} "
                f"after {a.seconds if a.seconds is None else round(a.seconds, 2)} s" for a in attempts[c].attempts)
                for c in unanswered[:3]))
    twice = [channel for channel, count in complete.items() if count > 1]
    require(not twice, f"{len(twice)} events were answered more than once: "
                       + ", ".join(f"{attempts[c].event_id} in {c}" for c in twice[:3]))
    others = {dm(n): len(slack.messages(dm(n))) - complete[dm(n)] for n, _, _ in events}
    left = sum(others.values())  # a reply the killed worker had begun streaming and never finished
    require(args.kill_halfway or not left, f"{left} bot messages besides the replies")
    asked = model.requests_served() - asked_before
    dropped = sum(proxy.dropped.values())
    require(len(events) <= asked <= len(events) + dropped,
            f"the model was asked {asked} times for {len(events)} events ({dropped} deliveries dropped by a dying worker)")
    refused = slack.rejected()
    require(not refused, f"Slack would have refused {len(refused)} calls, e.g. "
                         f"{[(c.method, c.result) for c in refused[:1]]}")

    times = list(replies.values())
    print(f"{len(events)} events (sent {'all at once' if not args.spread_s else f'over {args.spread_s:g} s'}) "
          f"+ {len(retried)} retried deliveries through a round-robin proxy to 2 workers "
          f"(deliveries per worker {list(proxy.sent.values())}), model delay {args.delay:.1f} s")
    if killed_at:
        recovered = [d for d in firsts if d.recovered_by_retry]
        broken = [d for d in recovered if d.attempts[1].reason != "http_timeout"]  # the dying worker dropped it
        late = [d for d in recovered if len(d.attempts) > 2]  # the first retry failed too: 1 or 5 min later
        print(f"worker 0 killed (SIGKILL) {killed_at[0] - started:.1f} s in: {dropped} deliveries it held in flight "
              f"answered 502 by the proxy; {len(broken)} events it dropped recovered by Slack's retry to worker 1 "
              f"({len(late)} only by the retry a minute later); {len(recovered) - len(broken)} more answered after a "
              f"retry for an acknowledgement later than 3 s; unfinished messages left: {left}; "
              f"model calls {asked} for {len(events)} events")
    print(f"acknowledged      p50 {percentile(acks, 0.5) * 1000:6.0f} ms   p95 {percentile(acks, 0.95) * 1000:6.0f} ms   "
          f"max {max(acks) * 1000:6.0f} ms   (every {'event' if killed_at else 'delivery'} within "
          f"{ACK_WITHIN_S:.0f} s: checked)")
    print(f"reply complete    p50 {percentile(times, 0.5):6.2f} s    p95 {percentile(times, 0.95):6.2f} s    "
          f"max {max(times):6.2f} s")
    print(f"exactly one reply per event: checked ({len(complete)} threads); model calls {asked}; wall {wall:.2f} s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--retried", type=float, default=0.1, help="share of events delivered twice")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the fake model takes")
    parser.add_argument("--spread-s", type=float, default=None,
                        help="send the events evenly over this many seconds (default: all at once; "
                             f"{KILL_SPREAD_S:g} s with --kill-halfway)")
    parser.add_argument("--kill-halfway", action="store_true",
                        help="SIGKILL worker 0 halfway through the sending; Slack's retries must recover its events")
    args = parser.parse_args()
    if args.spread_s is None:
        args.spread_s = KILL_SPREAD_S if args.kill_halfway else 0.0
    if args.kill_halfway and not args.spread_s:
        parser.error("--kill-halfway needs --spread-s > 0: 'halfway' is a moment in a stream of events")

    slack_api.ThreadingHTTPServer.request_queue_size = 4096  # a burst of connections at once
    started_redis = None if os.environ.get("REDIS_URL") else redis_server.start()
    redis_url = os.environ.get("REDIS_URL") or started_redis.url
    try:
        slack = TimedSlack({dm(n): "im" for n in range(args.events + 2)})  # + one warm-up per worker
        with tempfile.TemporaryDirectory() as tmp, ModelProcess(delay=args.delay) as model, slack:
            asyncio.run(run(args, slack, model, redis_url, Path(tmp)))
    finally:
        if started_redis:
            started_redis.stop()


if __name__ == "__main__":
    main()
