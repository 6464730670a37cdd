"""Connecting to Weaviate so that a dead or unreachable server fails in seconds, with a clear message.

weaviate-client retries an unavailable gRPC endpoint with exponential back-off (1 + 2 + 4 + ... s,
about a minute) before giving up. A support bot must instead degrade at once: answer from the
cache, decline with a human offered, or tell the admin what to check. So the client gets short
timeouts, a channel that reconnects within two seconds once the server is back, and a gRPC stub
wrapper that retries an unavailable server once, briefly, and then reports it as an error the client
does not retry. That wrapper replaces a private attribute of the client's connection; connect()
checks that the client still reads its stub from there, so an upgrade that moves it fails loudly
instead of silently bringing the minute of back-off back.

connect() also refuses Weaviate releases this store cannot work with (see REFUSED_VERSIONS).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import grpc
import weaviate
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.config import ConnectionConfig, GrpcConfig
from weaviate.connect.base import ConnectionParams, ProtocolParams
from weaviate.exceptions import WeaviateBaseError

from bot.knowledge.stores.protocol import IndexStoreError
from bot.settings import WeaviateSettings

CLOUD_SUFFIXES = (".weaviate.cloud", ".weaviate.network", ".semi.technology")
RECOMMENDED_VERSION = "1.39.0"  # what docker-compose.yml pins; weaviate-client 4.23 is tested on it
# (lowest, first good) ranges of Weaviate releases refused at connect, with why. Read in Weaviate's
# sources (github.com/weaviate/weaviate): the /v1/aliases endpoints arrived in v1.32.0; from v1.32.3
# until v1.32.6 the gRPC batch-delete handler did not resolve aliases
# (adapters/handlers/grpc/v1/service.go, "Resolve alias before batch delete" in v1.32.6).
REFUSED_VERSIONS = [
    ((0, 0, 0), (1, 32, 0), "it has no collection aliases, which let a full rebuild switch without "
                            "downtime (they arrived in Weaviate 1.32)"),
    ((1, 32, 3), (1, 32, 6), "it fails deletes by filter that name an alias ('could not find class "
                             "... in schema'; fixed in Weaviate 1.32.6)"),
]
_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


def connection_params(settings: WeaviateSettings) -> ConnectionParams:
    """HTTP and gRPC endpoints from the settings; Weaviate Cloud puts gRPC on grpc-<host>:443."""
    assert settings.url, "connection_params needs weaviate.url"
    url = urlparse(settings.url)
    secure = url.scheme == "https"
    host = url.hostname or "localhost"
    cloud = host.endswith(CLOUD_SUFFIXES)
    grpc_host = settings.grpc_host or (f"grpc-{host}" if cloud and not host.startswith("grpc-") else host)
    return ConnectionParams(
        http=ProtocolParams(host=host, port=url.port or (443 if secure else 80), secure=secure),
        grpc=ProtocolParams(
            host=grpc_host,
            port=settings.grpc_port or (443 if secure else 50051),
            secure=settings.grpc_secure if settings.grpc_secure is not None else secure,
        ),
    )


def where(settings: WeaviateSettings) -> str:
    params = connection_params(settings)
    return (f"Weaviate at {settings.url} (gRPC {params.grpc.host}:{params.grpc.port})")


def connect(settings: WeaviateSettings) -> weaviate.WeaviateClient:
    """A connected sync client; IndexStoreError names what to check when the server cannot be used."""
    api_key = settings.api_key.get_secret_value() if settings.api_key else ""
    try:
        params = connection_params(settings)
    except ValueError as exc:
        raise IndexStoreError(f"The Weaviate connection settings cannot be used ({_short(exc)}); "
                              "check weaviate.url, weaviate.grpc_host and weaviate.grpc_port.") from None
    client = weaviate.WeaviateClient(
        connection_params=params,
        auth_client_secret=Auth.api_key(api_key) if api_key else None,
        additional_config=AdditionalConfig(
            timeout=Timeout(init=settings.init_timeout_s, query=settings.query_timeout_s,
                            insert=settings.insert_timeout_s),
            connection=ConnectionConfig(session_pool_max_retries=1),
            grpc_config=GrpcConfig(channel_options=_RECONNECT),
        ),
        # The init checks ask PyPI for the newest client version (an outbound call production
        # need not make); liveness is checked below through the same gRPC path searches use.
        skip_init_checks=True,
    )
    with translated(settings, "connecting"):
        client.connect()
        try:
            check_version(str(client.get_meta().get("version", "")), settings)
            _fail_fast(client)
        except IndexStoreError:
            client.close()
            raise
        if not client.is_ready():
            raise IndexStoreError(f"{where(settings)} answers but is not ready yet; wait for it to "
                                  "finish starting (GET /v1/.well-known/ready) and try again.")
    return client


@contextmanager
def translated(settings: WeaviateSettings, doing: str) -> Iterator[None]:
    """Turn client and network errors into one IndexStoreError that says what to check."""
    try:
        yield
    except IndexStoreError:
        raise
    except (WeaviateBaseError, OSError, grpc.RpcError) as exc:
        raise IndexStoreError(
            f"{where(settings)} failed while {doing}: {_short(exc)}. Check that Weaviate is running "
            "and reachable (weaviate.url / WEAVIATE_URL, weaviate.grpc_port) and, for Weaviate "
            "Cloud, that WEAVIATE_API_KEY is right."
        ) from exc


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 400 else text[:400] + "…"


class _Unavailable(grpc.RpcError, grpc.Call):
    """An unavailable server, reported with a code the client does not retry for a minute."""

    def __init__(self, cause: grpc.RpcError) -> None:
        self._details = f"gRPC endpoint unavailable ({cause.details()})"  # type: ignore[attr-defined]

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details

    def __str__(self) -> str:
        return self._details

    # grpc.Call's remaining abstract methods: nothing to report for a call that never connected.
    def initial_metadata(self):
        return None

    def trailing_metadata(self):
        return None

    def is_active(self) -> bool:
        return False

    def time_remaining(self):
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback) -> bool:
        return False


class _FailFastStub:
    def __init__(self, stub, retry_after_s: float = 0.2) -> None:
        self._stub = stub
        self._retry_after_s = retry_after_s

    def __getattr__(self, name: str):
        method = getattr(self._stub, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    raise
            time.sleep(self._retry_after_s)  # one quick retry covers a dropped connection
            try:
                return method(*args, **kwargs)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    raise
                raise _Unavailable(exc) from None

        return call


def check_version(version: str, settings: WeaviateSettings) -> None:
    """Refuse a Weaviate release this store cannot work with, saying which one to run instead."""
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version)
    if not found:
        raise IndexStoreError(f"{where(settings)} reports version {version!r}, which is not a Weaviate "
                              "release number; check that weaviate.url points at Weaviate.")
    number = tuple(int(part) for part in found.groups())
    for lowest, first_good, why in REFUSED_VERSIONS:
        if lowest <= number < first_good:
            raise IndexStoreError(
                f"{where(settings)} runs Weaviate {version}, which supportbot cannot use: {why}. "
                f"Upgrade Weaviate to {RECOMMENDED_VERSION} (the image docker-compose.yml pins) or at "
                "least 1.32.6; the data stays in place.")


def _fail_fast(client: weaviate.WeaviateClient) -> None:
    """Wrap the client's gRPC stub, and check the client really calls through the wrapper."""
    connection = client._connection
    stub = getattr(connection, "_grpc_stub", None)
    if stub is not None and not isinstance(stub, _FailFastStub):
        connection._grpc_stub = _FailFastStub(stub)
    if not isinstance(getattr(connection, "grpc_stub", None), _FailFastStub):
        raise IndexStoreError(
            f"weaviate-client {weaviate.__version__} no longer keeps its gRPC stub where supportbot "
            "wraps it (the connection's _grpc_stub, read through its grpc_stub property), so an "
            "unreachable Weaviate would stall every search for about a minute. Install the "
            "weaviate-client version pyproject.toml pins, or update "
            "bot/knowledge/stores/weaviate/connection.py for the new client.")
