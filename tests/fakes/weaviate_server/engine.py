"""The fake Weaviate's query engine: filters, BlockMax BM25, vector similarity and hybrid fusion.

Read from Weaviate's Go sources (v1.32.5 and v1.39.0; the formulas are the same in both):
- filters are evaluated per object; text equality follows the property's tokenization;
- BM25 is the BlockMax WAND path, the default since 1.29 (USE_INVERTED_SEARCHABLE unset):
  adapters/repos/db/inverted/bm25_searcher_block.go (wandBlock, combineResults) and
  adapters/repos/db/lsmkv/segment_blockmax.go (Score). Each searched property is scored on its
  own and the per-property scores are summed: for a query term t in property p of document d,
      idf(t)       = ln(1 + (N - n + 0.5) / (n + 0.5)) * (times t occurs in the query)
      score_p(d,t) = idf(t) * boost_p * f / (f + k1 * (1 - b + b * len_p(d) / avg_p))
  with no (k1 + 1) factor. N counts every object in the shard; n is the term's document frequency
  averaged (integer division) over the searched properties where it occurs; f is the term's count
  in that property; len_p(d) counts every token of the property (stopwords included) and avg_p is
  its mean over the objects that have the property. Stopwords (the `en` preset) leave the query
  only. With several properties each keeps its best max(1.1 * limit, limit + 10) before summing.
- vector search returns cosine distance; hybrid runs both searches (up to max(100, limit) results
  each: QUERY_HYBRID_MAXIMUM_RESULTS), normalises each list to 0..1 (relativeScoreFusion) or sums
  weight/(rank+60) (rankedFusion), weights the vector side by alpha, and explains each part as
  usecases/traverser/hybrid/hybrid_fusion.go does. Go computes scores in float32; so does this.
"""

from __future__ import annotations

import fnmatch
import functools
import math
import struct
from collections import Counter

import numpy as np

from tests.fakes.weaviate_server import quirks
from tests.fakes.weaviate_server.state import Collection, StoredObject, WeaviateError, words
from weaviate.proto.v1 import base_pb2, base_search_pb2

HYBRID_DEPTH = 100  # QUERY_HYBRID_MAXIMUM_RESULTS
EN_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split())
Hit = tuple[StoredObject, float, str]  # object, score (or distance for vector search), explanation
_TIE = 1e-14  # Go compares squared score differences against this


# ----- filters ----------------------------------------------------------------------------------

def matches(flt: base_pb2.Filters, obj: StoredObject, collection: Collection) -> bool:
    op = base_pb2.Filters.Operator.Name(flt.operator)
    if op == "OPERATOR_AND":
        return all(matches(f, obj, collection) for f in flt.filters)
    if op == "OPERATOR_OR":
        return any(matches(f, obj, collection) for f in flt.filters)
    if op == "OPERATOR_NOT":
        return not all(matches(f, obj, collection) for f in flt.filters)
    name = flt.target.property if flt.HasField("target") else (flt.on[-1] if flt.on else "")
    if name == "_id":
        have, tokenization = [obj.uuid], "field"
    else:
        spec = collection.property(name)
        if spec is None:
            raise WeaviateError(422, f"no such prop with name '{name}' found in class "
                                     f"'{collection.name}' in the schema")
        if not spec.get("indexFilterable", True):
            raise WeaviateError(422, f"Filtering by property '{name}' requires inverted index")
        value = obj.properties.get(name)
        have = value if isinstance(value, list) else ([] if value is None else [value])
        tokenization = spec.get("tokenization", "")
    if op == "OPERATOR_IS_NULL":
        return (not have) == flt.value_boolean
    wanted = _filter_values(flt)
    if tokenization == "word":  # text compared token by token
        have = [w for v in have for w in words(str(v))]
        wanted = [w for v in wanted for w in words(str(v))]
    return _compare(op, have, wanted)


def _filter_values(flt: base_pb2.Filters) -> list:
    kind = flt.WhichOneof("test_value")
    if kind is None:
        raise WeaviateError(422, "filter has no value")
    value = getattr(flt, kind)
    return list(value.values) if kind.endswith("_array") else [value]


def _compare(op: str, have: list, wanted: list) -> bool:
    if op == "OPERATOR_EQUAL":
        return all(w in have for w in wanted) if have else False
    if op == "OPERATOR_NOT_EQUAL":
        return not (have and all(w in have for w in wanted))
    if op == "OPERATOR_CONTAINS_ANY":
        return any(w in have for w in wanted)
    if op == "OPERATOR_CONTAINS_ALL":
        return all(w in have for w in wanted)
    if op == "OPERATOR_CONTAINS_NONE":
        return not any(w in have for w in wanted)
    if op == "OPERATOR_LIKE":
        return any(fnmatch.fnmatchcase(str(h).lower(), str(wanted[0]).lower()) for h in have)
    comparisons = {
        "OPERATOR_GREATER_THAN": lambda a, b: a > b, "OPERATOR_GREATER_THAN_EQUAL": lambda a, b: a >= b,
        "OPERATOR_LESS_THAN": lambda a, b: a < b, "OPERATOR_LESS_THAN_EQUAL": lambda a, b: a <= b,
    }
    if op in comparisons:
        return any(comparisons[op](h, wanted[0]) for h in have)
    raise WeaviateError(422, f"fake Weaviate does not implement filter operator {op}")


# ----- BM25 (BlockMax) --------------------------------------------------------------------------

def bm25(collection: Collection, shard: list[StoredObject], allowed: list[StoredObject],
         query: str, properties: list[str], limit: int, version: quirks.Version) -> list[Hit]:
    """BM25 scores of the allowed objects, best first; corpus statistics come from the whole shard."""
    boosts = _boosts(collection, properties)
    counts = Counter(t for t in words(query) if t not in EN_STOPWORDS)
    if not counts or not shard:
        return []
    k1 = collection.schema["invertedIndexConfig"]["bm25"]["k1"]
    b = collection.schema["invertedIndexConfig"]["bm25"]["b"]
    idf = _idfs(shard, counts, list(boosts))
    keep = limit if len(boosts) == 1 else max(int(limit * 1.1), limit + 10)
    totals: dict[str, np.float32] = {}
    explained: dict[str, list[str]] = {}
    by_uuid = {o.uuid: o for o in allowed}
    for prop, boost in boosts.items():
        lengths = [len(o.tokens.get(prop, ())) for o in shard]
        having = [n for n in lengths if n]
        average = sum(having) / len(having) if having else 0.0
        scored = []
        for obj in allowed:
            tokens = obj.tokens.get(prop, ())
            score, parts = 0.0, []
            for term in counts:
                f = tokens.count(term)
                if f:
                    score += idf[term] * boost * f / (f + k1 * (1 - b + b * len(tokens) / average))
                    parts.append(f"BM25F_{term}_frequency:{f}, BM25F_{term}_propLength:{len(tokens)}")
            if parts:
                scored.append((np.float32(score), obj, parts))
        scored.sort(key=lambda s: (-s[0], s[1].doc_id))
        if limit:
            scored = scored[:keep]
        for score, obj, parts in scored:
            totals[obj.uuid] = np.float32(totals.get(obj.uuid, np.float32(0)) + score)
            explained.setdefault(obj.uuid, []).extend(parts)
    order = ((lambda u: (-totals[u], u)) if quirks.ties_by_lowest_id(version)
             else (lambda u: (-totals[u], by_uuid[u].doc_id)))
    ranked = sorted(totals, key=order)
    return [(by_uuid[u], float(totals[u]), ", ".join(explained[u])) for u in ranked]


def _boosts(collection: Collection, properties: list[str]) -> dict[str, int]:
    boosts = {}
    for spec in properties or collection.searchable():
        name, _, boost = spec.partition("^")
        if name not in collection.searchable():
            raise WeaviateError(422, f"property '{name}' is not searchable")
        # strconv.Atoi with its error ignored, as generateQueryTermsAndStats parses it: a
        # fractional boost such as "title^1.5" counts as 0.
        boosts[name] = int(boost) if boost.isdigit() else (1 if not boost else 0)
    return boosts


def _idfs(shard: list[StoredObject], counts: Counter, properties: list[str]) -> dict[str, float]:
    total = len(shard)
    idf = {}
    for term, repeats in counts.items():
        frequencies = [sum(1 for o in shard if term in o.tokens.get(p, ())) for p in properties]
        present = [n for n in frequencies if n]
        n = sum(present) // len(present) if present else 0
        idf[term] = math.log(1 + (total - n + 0.5) / (n + 0.5)) * repeats
    return idf


# ----- vectors ----------------------------------------------------------------------------------

def query_vector(message) -> np.ndarray | None:
    """The query vector of a NearVector or Hybrid message, in any of the client's encodings."""
    if message.vector_bytes:
        return _floats(message.vector_bytes)
    for vectors in getattr(message, "vectors", []):
        return _floats(vectors.vector_bytes)
    if getattr(message, "vector", None):
        return np.asarray(message.vector, dtype=np.float32)
    for target in getattr(message, "vector_for_targets", []):
        if target.vector_bytes:
            return _floats(target.vector_bytes)
        for vectors in target.vectors:
            return _floats(vectors.vector_bytes)
    if isinstance(message, base_search_pb2.Hybrid) and message.HasField("near_vector"):
        return query_vector(message.near_vector)
    return None


def _floats(raw: bytes) -> np.ndarray:
    return np.asarray(struct.unpack(f"<{len(raw) // 4}f", raw), dtype=np.float32)


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.float32(1.0 - (float(a @ b) / norms if norms else 0.0)))


def near_vector(allowed: list[StoredObject], vector: np.ndarray) -> list[Hit]:
    hits = []
    for obj in allowed:
        if obj.vector is None:
            continue
        if len(obj.vector) != len(vector):
            raise WeaviateError(422, f"vector search: query vector has length {len(vector)}, "
                                     f"stored vectors have length {len(obj.vector)}")
        hits.append((obj, cosine_distance(obj.vector, vector), ""))
    return sorted(hits, key=lambda h: (h[1], h[0].uuid))


# ----- hybrid -----------------------------------------------------------------------------------

def hybrid(collection: Collection, shard: list[StoredObject], allowed: list[StoredObject],
           request: base_search_pb2.Hybrid, limit: int, version: quirks.Version) -> list[Hit]:
    alpha = request.alpha_param if request.use_alpha_param else request.alpha
    vector = query_vector(request)
    depth = max(HYBRID_DEPTH, limit)
    sets, weights, names = [], [], []
    if alpha < 1 and request.query:
        keyword = bm25(collection, shard, allowed, request.query, list(request.properties), depth, version)
        sets.append([(o, s, e) for o, s, e in keyword[:depth]])
        weights.append(1 - alpha)
        names.append("keyword")
    if alpha > 0:
        if vector is None:
            raise WeaviateError(422, "hybrid: no vector given and the collection has no vectorizer")
        dense = near_vector(allowed, vector)[:depth]
        sets.append([(o, float(np.float32(1 - d)), "") for o, d, _ in dense])
        weights.append(alpha)
        names.append("vector")
    ranked = request.fusion_type == base_search_pb2.Hybrid.FusionType.FUSION_TYPE_RANKED
    fused = (_ranked_fusion if ranked else _relative_score_fusion)(sets, weights, names)
    return _ordered(fused, lowest_id_first=quirks.ties_by_lowest_id(version))


def _relative_score_fusion(sets, weights, names) -> list[list]:
    """[object, score, explanation, secondary sort value] per object, unordered."""
    fused: dict[str, list] = {}
    for results, weight, name in zip(sets, weights, names, strict=True):
        if not results:
            continue
        low, high = min(s for _, s, _ in results), max(s for _, s, _ in results)
        for obj, original, own in results:
            score = np.float32(weight)
            if high != low:
                score = np.float32(score * np.float32((np.float32(original) - np.float32(low))
                                                      / np.float32(np.float32(high) - np.float32(low))))
            line = (f"Hybrid (Result Set {name}) Document {obj.uuid}: original score "
                    f"{np.float32(original)}, normalized score: {score}")
            previous = fused.get(obj.uuid)
            if previous is not None:
                score = np.float32(score + previous[1])
                line += " - " + previous[2]
            fused[obj.uuid] = [obj, score, own + "\n" + line, original]
    return list(fused.values())


def _ranked_fusion(sets, weights, names) -> list[list]:
    fused: dict[str, list] = {}
    for results, weight, name in zip(sets, weights, names, strict=True):
        for rank, (obj, original, _) in enumerate(results):
            score = np.float32(weight / (rank + 60))
            entry = fused.setdefault(obj.uuid, [obj, np.float32(0), "", original])
            entry[1] = np.float32(entry[1] + score)
            entry[2] += f"\nHybrid (Result Set {name}) Document {obj.uuid} contributed {score} to the score"
            entry[3] = original
    return list(fused.values())


def _ordered(fused: list[list], *, lowest_id_first: bool) -> list[Hit]:
    """Best first; near-equal scores by the secondary value (higher first), then by object id."""

    def compare(a, b) -> int:
        if (float(b[1]) - float(a[1])) ** 2 >= _TIE:
            return -1 if a[1] > b[1] else 1
        if (float(b[3]) - float(a[3])) ** 2 >= _TIE:
            return -1 if a[3] > b[3] else 1
        if a[0].uuid == b[0].uuid:
            return 0
        first = a[0].uuid < b[0].uuid if lowest_id_first else a[0].uuid > b[0].uuid
        return -1 if first else 1

    ordered = sorted(fused, key=functools.cmp_to_key(compare))
    return [(obj, float(score), explain) for obj, score, explain, _ in ordered]
