"""The fake Weaviate's REST side: meta, readiness, schema, tenants and aliases under /v1.

The version it reports is the state's (FakeWeaviate(version=...)); the client reads it at connect.
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from tests.fakes.weaviate_server import quirks
from tests.fakes.weaviate_server.state import FakeState, WeaviateError, capitalise

VERSION = "1.39.0"  # the release the fake behaves as by default: the one docker-compose.yml pins
GRPC_MAX_MESSAGE = 104_858_000


def make_handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    routes = [
        ("GET", r"/v1/meta", lambda m, q, b: (200, {"hostname": "http://[::]:8080", "version": state.version_text,
                                                    "modules": {}, "grpcMaxMessageSize": GRPC_MAX_MESSAGE})),
        ("GET", r"/v1/\.well-known/(ready|live)", lambda m, q, b: (200, None)),
        ("GET", r"/v1/schema", lambda m, q, b: (200, {"classes": [c.schema for c in state.collections.values()]})),
        ("POST", r"/v1/schema", lambda m, q, b: (200, state.create_collection(b or {}))),
        ("GET", r"/v1/schema/(\w+)", lambda m, q, b: (200, state.concrete(m[1]).schema)),
        ("DELETE", r"/v1/schema/(\w+)", lambda m, q, b: (200, state.delete_collection(m[1]))),
        ("GET", r"/v1/schema/(\w+)/tenants", lambda m, q, b: (200, state.tenants(m[1]))),
        ("POST", r"/v1/schema/(\w+)/tenants", lambda m, q, b: (200, state.add_tenants(m[1], b))),
        ("PUT", r"/v1/schema/(\w+)/tenants", lambda m, q, b: (200, state.update_tenants(m[1], b))),
        ("DELETE", r"/v1/schema/(\w+)/tenants", lambda m, q, b: (200, state.remove_tenants(m[1], b))),
        ("HEAD", r"/v1/schema/(\w+)/tenants/([\w-]+)",
         lambda m, q, b: (200 if m[2] in state.concrete(m[1]).shards else 404, None)),
        ("GET", r"/v1/schema/(\w+)/tenants/([\w-]+)", lambda m, q, b: _tenant(state, m[1], m[2])),
        ("GET", r"/v1/aliases", lambda m, q, b: (200, {"aliases": [
            {"alias": a, "class": c} for a, c in sorted(state.aliases.items())
            if not q.get("class") or c == q["class"][0]]})),
        ("POST", r"/v1/aliases", lambda m, q, b: (200, state.create_alias(b["alias"], b["class"]) or b)),
        ("GET", r"/v1/aliases/(\w+)", lambda m, q, b: _alias(state, m[1])),
        ("PUT", r"/v1/aliases/(\w+)", lambda m, q, b: _update_alias(state, m[1], b["class"])),
        ("DELETE", r"/v1/aliases/(\w+)", lambda m, q, b: (204 if state.aliases.pop(m[1], None) else 404, None)),
    ]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle's algorithm on, the body then waits for
        # the client's delayed ACK (40 ms on Linux) on every keep-alive request.
        disable_nagle_algorithm = True

        def log_message(self, *args) -> None:  # quiet test output
            return None

        def _handle(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            state.requests.append(f"{self.command} {url.path}")
            if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
                return self._send(401, {"code": 401, "message": "anonymous access not enabled, please "
                                                                "provide an auth scheme such as OIDC"})
            if url.path.startswith("/v1/aliases") and not quirks.has_aliases(state.version):
                return self._send(404, None)  # no such endpoint before 1.32
            for method, pattern, action in routes:
                found = re.fullmatch(pattern, url.path)
                if method == self.command and found:
                    try:
                        with state.lock:
                            status, payload = action(found, parse_qs(url.query), body)
                    except WeaviateError as exc:
                        status, payload = exc.status, {"error": [{"message": str(exc)}]}
                    return self._send(status, payload)
            self._send(404, {"error": [{"message": f"fake Weaviate: no route {self.command} {url.path}"}]})

        def _send(self, status: int, payload) -> None:
            data = b"" if payload is None or status == 204 else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    return Handler


def _tenant(state: FakeState, collection: str, name: str):
    found = [t for t in state.tenants(collection) if t["name"] == name]
    return (200, found[0]) if found else (404, None)


def _update_alias(state: FakeState, alias: str, target: str):
    if not state.update_alias(alias, target):
        return 404, {"error": [{"message": f"alias {alias} not found"}]}
    return 200, {"alias": capitalise(alias), "class": capitalise(target)}


def _alias(state: FakeState, name: str):
    target = state.aliases.get(name)
    if target is None:
        return 404, {"error": [{"message": f"alias {name} not found"}]}
    return 200, {"alias": name, "class": target}
