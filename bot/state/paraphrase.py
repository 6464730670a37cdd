"""The paraphrase cache's lookup: which cached question, in the same scope, is closest in meaning.

Two implementations behind one interface (`remember`, `nearest`), chosen by
`cache.semantic_backend`; "auto" asks the server once:

- `VectorIndexParaphrases`: a Redis vector index (the query engine: Redis 8, Redis Stack, Valkey
  with a search module). Each cached question is a hash (scope tag, vector, exact key) that
  expires with its answer; a lookup is one exact KNN query filtered by the scope, so Redis
  compares only that audience's, generation's and prompt version's questions and returns the
  best one (bench/paraphrase_cache.py: 0.5 ms among 1,000 questions, 9 ms among 100,000).
- `InProcessParaphrases`: for servers without vector search (Redis 7.0, fakeredis). Each scope
  keeps a capped list of (vector, exact key) entries; a lookup reads the list and compares here
  (5 ms among 1,000; 0.6-0.9 s among 100,000, so keep `cache.semantic_max_entries` small).

The scope (CacheKey.scope) carries audience, generation, prompt version, model and team: neither
implementation ever matches across it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import structlog
from redis.commands.search.field import TagField, VectorField
from redis.commands.search.index_definition import IndexDefinition, IndexType
from redis.commands.search.query import Query
from redis.exceptions import ResponseError

from bot.settings import CacheSettings
from bot.state.connection import RedisState

log = structlog.get_logger(__name__)
_LIST_DTYPE = np.float16  # half the bytes; paraphrase thresholds are far coarser than fp16


class Paraphrases(Protocol):
    async def remember(self, scope: str, exact: str, vector: np.ndarray) -> None: ...

    async def nearest(self, scope: str, vector: np.ndarray) -> tuple[str, float] | None:
        """(exact key, cosine similarity) of the closest cached question in the scope, or None."""
        ...


class InProcessParaphrases:
    def __init__(self, state: RedisState, settings: CacheSettings) -> None:
        self.state = state
        self.settings = settings

    def _key(self, scope: str) -> str:
        return self.state.key("paraphrases", scope)

    async def remember(self, scope: str, exact: str, vector: np.ndarray) -> None:
        entry = np.asarray(vector, _LIST_DTYPE).tobytes() + exact.encode()
        listing = self._key(scope)

        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                pipe.lpush(listing, entry).ltrim(listing, 0, self.settings.semantic_max_entries - 1)
                pipe.expire(listing, self.settings.ttl_s)
                await pipe.execute()

        await self.state.run(write)

    async def nearest(self, scope: str, vector: np.ndarray) -> tuple[str, float] | None:
        entries = await self.state.run(lambda r: r.lrange(self._key(scope), 0, -1))
        if not entries:
            return None
        width = np.asarray(vector).size * np.dtype(_LIST_DTYPE).itemsize
        matrix = np.frombuffer(b"".join(e[:width] for e in entries), _LIST_DTYPE).reshape(len(entries), -1)
        similarity = matrix.astype(np.float32) @ np.asarray(vector, np.float32)
        best = int(np.argmax(similarity))
        return entries[best][width:].decode(), float(similarity[best])


class VectorIndexParaphrases:
    """One index per key prefix and vector width (a new embedding model gets a new index)."""

    def __init__(self, state: RedisState, settings: CacheSettings) -> None:
        self.state = state
        self.settings = settings
        self._ready: set[int] = set()  # widths whose index this process has made sure of

    def _names(self, dim: int) -> tuple[str, str]:
        """(index name, key prefix of its hashes); "flat" names the index's algorithm, so that a
        later change of it gets an index of its own."""
        return (self.state.key("paraphrase-index", f"flat-d{dim}"),
                self.state.key("paraphrase", f"d{dim}", ""))

    async def _ensure_index(self, dim: int) -> str:
        index, prefix = self._names(dim)
        if dim in self._ready:
            return index
        # FLAT: an exact search, like the in-process comparison. HNSW is approximate, and with a
        # scope filter it missed the stored question in the bench (bench/paraphrase_cache.py);
        # a cache that misses its own entries pays a model call each time.
        schema = (TagField("scope"),
                  VectorField("vec", "FLAT", {"TYPE": "FLOAT32", "DIM": dim, "DISTANCE_METRIC": "COSINE"}))
        definition = IndexDefinition(prefix=[prefix], index_type=IndexType.HASH)
        try:
            await self.state.run(lambda r: r.ft(index).create_index(schema, definition=definition))
            log.info("created the paraphrase vector index", index=index, dim=dim)
        except ResponseError as exc:
            if "already exists" not in str(exc).lower():
                raise
        self._ready.add(dim)
        return index

    async def remember(self, scope: str, exact: str, vector: np.ndarray) -> None:
        vector = np.asarray(vector, np.float32)
        await self._ensure_index(vector.size)
        key = self._names(vector.size)[1] + exact  # exact already digests scope and question

        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"scope": scope, "vec": vector.tobytes(), "exact": exact})
                pipe.expire(key, self.settings.ttl_s)
                await pipe.execute()

        await self.state.run(write)

    async def nearest(self, scope: str, vector: np.ndarray) -> tuple[str, float] | None:
        vector = np.asarray(vector, np.float32)
        index = await self._ensure_index(vector.size)
        # The scope is a hex digest: safe inside a TAG filter without escaping.
        query = (Query(f"(@scope:{{{scope}}})=>[KNN 1 @vec $vec AS distance]")
                 .sort_by("distance").return_fields("exact", "distance").paging(0, 1).dialect(2))
        result = await self.state.run(lambda r: r.ft(index).search(query, query_params={"vec": vector.tobytes()}))
        if not result.docs:
            return None
        best = result.docs[0]
        return _text(best.exact), 1.0 - float(_text(best.distance))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def has_vector_search(state: RedisState) -> bool:
    """Whether the server offers the query engine (FT.* commands)."""
    try:
        await state.run(lambda r: r.execute_command("FT._LIST"))
        return True
    except ResponseError:  # "unknown command"
        return False
    except NotImplementedError:  # fakeredis raises this for commands it lacks
        return False


class AutoParaphrases:
    """`cache.semantic_backend`: "vector-index", "in-process", or "auto" (asks the server once)."""

    def __init__(self, state: RedisState, settings: CacheSettings) -> None:
        self.state = state
        self.settings = settings
        self._chosen: Paraphrases | None = None

    async def chosen(self) -> Paraphrases:
        if self._chosen is None:
            backend = self.settings.semantic_backend
            if backend == "auto":
                backend = "vector-index" if await has_vector_search(self.state) else "in-process"
                log.info("paraphrase cache lookup chosen", backend=backend, redis=self.state.description)
            cls = VectorIndexParaphrases if backend == "vector-index" else InProcessParaphrases
            self._chosen = cls(self.state, self.settings)
        return self._chosen

    async def remember(self, scope: str, exact: str, vector: np.ndarray) -> None:
        await (await self.chosen()).remember(scope, exact, vector)

    async def nearest(self, scope: str, vector: np.ndarray) -> tuple[str, float] | None:
        return await (await self.chosen()).nearest(scope, vector)
