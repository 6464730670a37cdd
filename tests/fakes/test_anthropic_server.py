"""Self-tests: drive FakeAnthropic through the real anthropic SDK and ChatAnthropic."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import HumanMessage, SystemMessage

from tests.fakes.anthropic_server import (
    Echo,
    FakeAnthropic,
    Hang,
    HttpError,
    Reply,
    Responder,
    StreamError,
)

MODEL = "claude-fake-test"
USER = [{"role": "user", "content": "Hello?"}]
LONG = "The quick brown fox jumps over the lazy dog. " * 3


@pytest.fixture
def fake():
    with FakeAnthropic() as f:
        yield f


@pytest.fixture
def client(fake):
    with anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0) as c:
        yield c


def post_raw(fake, body):
    """POST without the SDK, to see exactly what goes over the wire."""
    req = urllib.request.Request(fake.base_url + "/v1/messages", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, dict(resp.headers), resp.read().decode()


def parse_sse(raw):
    events = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# --- non-streaming ---------------------------------------------------------------

def test_sync_create_returns_full_message_and_records_request(fake, client):
    fake.queue(Reply(LONG))
    msg = client.messages.create(model=MODEL, max_tokens=50, messages=USER)

    assert msg.content[0].type == "text" and msg.content[0].text == LONG
    assert msg.id.startswith("msg_") and msg.type == "message" and msg.role == "assistant"
    assert msg.model == MODEL  # echoed from the request
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.output_tokens == len(LONG) // 4
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0
    assert msg._request_id.startswith("req_fake_")

    assert len(fake.requests) == len(fake.request_headers) == 1
    assert fake.requests[0]["messages"] == USER and fake.requests[0]["max_tokens"] == 50
    headers = fake.request_headers[0]
    assert "anthropic-version" in headers
    assert "test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


@pytest.mark.asyncio
async def test_async_create(fake):
    fake.queue(Reply("async answer"))
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0) as c:
        msg = await c.messages.create(model=MODEL, max_tokens=10, messages=USER)
    assert msg.content[0].text == "async answer"
    assert fake.request_headers[0]["x-stainless-async"].startswith("async")


def test_queue_is_consumed_in_order_then_default(fake, client):
    fake.queue(Reply("one"), Reply("two"))
    texts = [client.messages.create(model=MODEL, max_tokens=5, messages=USER).content[0].text
             for _ in range(3)]
    assert texts == ["one", "two", "Hello from FakeAnthropic."]
    fake.default = Reply("new default")
    assert client.messages.create(model=MODEL, max_tokens=5, messages=USER).content[0].text \
        == "new default"
    assert len(fake.requests) == 4


def test_echo_shows_system_and_all_message_text(fake, client):
    fake.queue(Echo())
    msg = client.messages.create(
        model=MODEL, max_tokens=10,
        system=[{"type": "text", "text": "SYS-BLOCK"}],
        messages=[{"role": "user", "content": "plain string"},
                  {"role": "assistant", "content": [{"type": "text", "text": "BLOCK-A"}]},
                  {"role": "user", "content": [{"type": "text", "text": "BLOCK-B"}]}])
    assert msg.content[0].text == "SYS-BLOCK\nplain string\nBLOCK-A\nBLOCK-B"


def test_responder_sees_request_body(fake, client):
    fake.queue(Responder(lambda body: f"{body['model']} got {len(body['messages'])} messages"))
    msg = client.messages.create(model=MODEL, max_tokens=5, messages=USER * 3)
    assert msg.content[0].text == f"{MODEL} got 3 messages"


def test_concurrent_requests_are_all_recorded(fake, client):
    fake.default = Responder(lambda body: "re: " + body["messages"][0]["content"])

    def ask(i):
        return client.messages.create(model=MODEL, max_tokens=5,
                                      messages=[{"role": "user", "content": f"q{i}"}]).content[0].text

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(16)))
    assert answers == [f"re: q{i}" for i in range(16)]
    assert len(fake.requests) == len(fake.request_headers) == 16
    assert sorted(r["messages"][0]["content"] for r in fake.requests) == sorted(
        f"q{i}" for i in range(16))


def test_malformed_request_is_rejected_without_consuming_the_script(fake):
    fake.queue(Reply("kept"))
    with pytest.raises(urllib.error.HTTPError) as info:
        post_raw(fake, {"model": MODEL, "messages": USER})  # no max_tokens
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["type"] == "invalid_request_error"
    _, _, raw = post_raw(fake, {"model": MODEL, "max_tokens": 5, "messages": USER})
    assert json.loads(raw)["content"][0]["text"] == "kept"
    assert len(fake.requests) == 2


# --- streaming -------------------------------------------------------------------

def test_wire_format_of_stream(fake):
    fake.queue(Reply("abcdefghij", chunk_size=4))
    status, headers, raw = post_raw(fake, {"model": MODEL, "max_tokens": 5, "messages": USER,
                                           "stream": True})
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(raw)
    names = [name for name, _ in events]
    assert names == ["message_start", "content_block_start", "ping",
                     "content_block_delta", "content_block_delta", "content_block_delta",
                     "content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in events)  # event name matches payload
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["model"] == MODEL
    assert [d["delta"]["text"] for n, d in events if n == "content_block_delta"] == \
        ["abcd", "efgh", "ij"]
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 2


def test_sync_stream_helper_delivers_text_in_chunks(fake, client):
    fake.queue(Reply(LONG, chunk_size=10))
    with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        chunks = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(chunks) == -(-len(LONG) // 10) and "".join(chunks) == LONG
    assert final.content[0].text == LONG and final.stop_reason == "end_turn"
    assert fake.requests[0]["stream"] is True


def test_sync_create_stream_true_yields_typed_events(fake, client):
    fake.queue(Reply(LONG))
    events = list(client.messages.create(model=MODEL, max_tokens=50, messages=USER, stream=True))
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == LONG and types.count("content_block_delta") > 1


@pytest.mark.asyncio
async def test_async_stream_arrives_incrementally(fake):
    fake.queue(Reply("x" * 30, chunk_size=5, delay=0.05))
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test", max_retries=0) as c:
        async with c.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
            arrivals = [(time.monotonic(), t) async for t in stream.text_stream]
    assert "".join(t for _, t in arrivals) == "x" * 30 and len(arrivals) == 6
    # Five 50 ms gaps: the pieces were not buffered into one write.
    assert arrivals[-1][0] - arrivals[0][0] >= 0.15


# --- errors --------------------------------------------------------------------

def test_http_error_raises_matching_status_error(fake, client):
    fake.queue(HttpError(429, "rate_limit_error", "slow down"),
               HttpError(529, "overloaded_error"),
               HttpError(400, "invalid_request_error", "bad"))
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert info.value.status_code == 429
    assert info.value.body == {"type": "error",
                               "error": {"type": "rate_limit_error", "message": "slow down"}}
    with pytest.raises(anthropic.OverloadedError) as info:
        client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert info.value.status_code == 529
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=MODEL, max_tokens=5, stream=True, messages=USER)
    assert len(fake.requests) == 3  # max_retries=0: no retries


def test_retry_consumes_next_behaviour(fake):
    fake.queue(HttpError(500, retry_after_ms=1), Reply("second try"))
    with anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=1) as c:
        msg = c.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert msg.content[0].text == "second try"
    assert [h["x-stainless-retry-count"] for h in fake.request_headers] == ["0", "1"]


def test_stream_error_raises_after_partial_text(fake, client):
    fake.queue(StreamError("partial answer here", chunk_size=5))
    received = []
    with pytest.raises(anthropic.APIStatusError) as info:
        with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
            for text in stream.text_stream:
                received.append(text)
    assert "".join(received) == "partial answer here" and len(received) > 1
    assert info.value.body["error"]["type"] == "overloaded_error"


def test_stream_error_without_streaming_is_a_529(fake, client):
    fake.queue(StreamError("ignored"))
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=5, messages=USER)


def test_hang_triggers_client_timeout_and_stop_is_prompt(fake):
    fake.queue(Hang(30))
    start = time.monotonic()
    with anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0,
                             timeout=0.3) as c:
        with pytest.raises(anthropic.APITimeoutError):
            c.messages.create(model=MODEL, max_tokens=5, messages=USER)
    fake.stop()
    assert time.monotonic() - start < 5


def test_hang_answers_late_when_client_waits(fake, client):
    fake.queue(Hang(0.2))
    start = time.monotonic()
    msg = client.messages.create(model=MODEL, max_tokens=5, messages=USER)
    assert msg.content[0].text == "late" and time.monotonic() - start >= 0.2


# --- prompt caching usage ----------------------------------------------------------

def test_cache_control_reports_creation_then_read(fake, client):
    system = [{"type": "text", "text": "S" * 400, "cache_control": {"type": "ephemeral"}}]
    first = client.messages.create(model=MODEL, max_tokens=5, system=system,
                                   messages=[{"role": "user", "content": "q" * 40}]).usage
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (100, 0)
    assert first.input_tokens == 10  # only the part after the breakpoint

    with client.messages.stream(model=MODEL, max_tokens=5, system=system,
                                messages=[{"role": "user", "content": "other"}]) as stream:
        stream.until_done()
        second = stream.get_final_message().usage
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 100)

    plain = client.messages.create(model=MODEL, max_tokens=5, system="S" * 400,
                                   messages=USER).usage
    assert (plain.cache_creation_input_tokens, plain.cache_read_input_tokens) == (0, 0)
    assert plain.input_tokens == (400 + len("Hello?")) // 4


def test_cache_read_covers_longest_seen_prefix(fake, client):
    cc = {"type": "ephemeral"}
    system = [{"type": "text", "text": "S" * 400, "cache_control": cc}]
    client.messages.create(model=MODEL, max_tokens=5, system=system, messages=USER)
    msgs = [{"role": "user", "content": [{"type": "text", "text": "m" * 80, "cache_control": cc}]}]
    usage = client.messages.create(model=MODEL, max_tokens=5, system=system, messages=msgs).usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (100, 20)


# --- langchain_anthropic ----------------------------------------------------------

def chat(fake, **kw):
    return ChatAnthropic(model=MODEL, base_url=fake.base_url, api_key="test", max_retries=0, **kw)


@pytest.mark.asyncio
async def test_langchain_astream(fake):
    fake.queue(Reply(LONG, chunk_size=8))
    chunks = [c async for c in chat(fake).astream([HumanMessage("hi")])]
    texts = [c.text for c in chunks if c.text]
    assert "".join(texts) == LONG and len(texts) > 1
    assert fake.requests[0]["stream"] is True and fake.requests[0]["model"] == MODEL
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == len(LONG) // 4


def test_langchain_invoke_and_echo(fake):
    fake.queue(Echo())
    result = chat(fake).invoke([SystemMessage("Be brief."), HumanMessage("What is 2+2?")])
    assert result.text == "Be brief.\nWhat is 2+2?"
    assert fake.requests[0].get("stream") is not True


@pytest.mark.asyncio
async def test_langchain_stream_error_midway(fake):
    fake.queue(StreamError("some text first", chunk_size=4))
    got = []
    with pytest.raises(anthropic.APIStatusError):
        async for chunk in chat(fake).astream([HumanMessage("hi")]):
            got.append(chunk.text)
    assert "".join(got) == "some text first"


def test_langchain_http_error(fake):
    fake.queue(HttpError(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(anthropic.AuthenticationError) as info:
        chat(fake).invoke("hi")
    assert info.value.status_code == 401


@pytest.mark.asyncio
async def test_langchain_reports_cache_usage(fake):
    system = SystemMessage(content=[{"type": "text", "text": "P" * 800,
                                     "cache_control": {"type": "ephemeral"}}])
    model = chat(fake)
    first = await model.ainvoke([system, HumanMessage("one")])
    second = [c async for c in model.astream([system, HumanMessage("two")])]
    assert "cache_control" in fake.requests[0]["system"][0]
    assert first.usage_metadata["input_token_details"]["cache_creation"] == 200
    details = [c.usage_metadata["input_token_details"] for c in second if c.usage_metadata]
    assert details[-1]["cache_read"] == 200


# --- keep-alive (benches) ----------------------------------------------------------

def test_keep_alive_streams_over_one_connection_and_ends_each_body():
    with FakeAnthropic(Reply(LONG, chunk_size=10), keep_alive=True) as f, \
            anthropic.Anthropic(base_url=f.base_url, api_key="test", max_retries=0) as c:
        texts = []
        for _ in range(3):
            with c.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
                texts.append("".join(stream.text_stream))
        assert f.connections == 1  # the default closes after each response: three
        failed = HttpError(400, "invalid_request_error", "bad")
        f.queue(StreamError("Half an ans", "overloaded_error", "Overloaded"), failed)
        with pytest.raises(anthropic.APIStatusError), \
                c.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
            "".join(stream.text_stream)
        with pytest.raises(anthropic.BadRequestError):
            c.messages.create(model=MODEL, max_tokens=50, messages=USER)
        reply = c.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert texts == [LONG] * 3 and reply.content[0].text == LONG
    # The client drops the connection of a stream it abandoned on an error, and opens one more.
    assert len(f.requests) == 6 and f.connections == 2
