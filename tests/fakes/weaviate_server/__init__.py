"""A local fake Weaviate that speaks the wire protocol weaviate-client uses: REST and gRPC.

    with FakeWeaviate() as fake:
        settings = WeaviateSettings(url=fake.url, grpc_port=fake.grpc_port)
        fake.state.reject_next_objects(1)   # the next object written gets a batch error

It behaves as the Weaviate release it reports (default rest.VERSION, the one docker-compose.yml
pins; FakeWeaviate(version="1.32.5") for another, see quirks.py) for what this project uses:
schema, tenants (with activity states) and aliases over REST; search (fetch, BM25, near-vector,
hybrid with both fusions), batch import, batch delete, object counts and tenants over gRPC, with
real filters, BlockMax BM25, cosine similarity and relativeScoreFusion. No answer is canned: every
result is computed from the stored objects. Searches run concurrently with writes, as on Weaviate.
"""

from __future__ import annotations

import threading
from concurrent import futures
from http.server import ThreadingHTTPServer

import grpc

from tests.fakes.weaviate_server.grpc_api import FakeWeaviateServicer, health_handler
from tests.fakes.weaviate_server.rest import VERSION, make_handler
from tests.fakes.weaviate_server.state import FakeState
from weaviate.proto.v1 import weaviate_pb2_grpc

__all__ = ["FakeWeaviate", "FakeState", "VERSION"]


class FakeWeaviate:
    def __init__(self, api_key: str | None = None, version: str = VERSION) -> None:
        self.state = FakeState(api_key=api_key, version=version)
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None

    def start(self) -> FakeWeaviate:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.state))
        self._http.daemon_threads = True
        # A short poll interval: stop() waits one interval for the serving loop to notice.
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-weaviate-rest", daemon=True).start()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(FakeWeaviateServicer(self.state), self._grpc)
        self._grpc.add_generic_rpc_handlers((health_handler(),))
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        return self

    @property
    def url(self) -> str:
        assert self._http is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> FakeWeaviate:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
