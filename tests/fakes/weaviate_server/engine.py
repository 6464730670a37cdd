"""The fake Weaviate's query engine: filters, BM25F, vector similarity and hybrid fusion.

Written from Weaviate's documented behaviour (and its Go sources for the fusion and explain text):
- filters are evaluated per object; text equality follows the property's tokenization;
- BM25F over the requested (or all searchable) text properties, k1/b from the collection, the
  `en` stopword preset removed from the query, OR of the query terms;
- vector search returns cosine distance; hybrid runs both searches (up to HYBRID_DEPTH results
  each), normalises each list to 0..1 (relativeScoreFusion) or sums 1/(rank+60) (rankedFusion),
  weights the vector side by alpha, and explains each part as Weaviate does.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from tests.fakes.weaviate_server.state import Collection, StoredObject, WeaviateError, words
from weaviate.proto.v1 import base_pb2, base_search_pb2

HYBRID_DEPTH = 100
EN_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split())
Hit = tuple[StoredObject, float, str]  # object, score (or distance for vector search), explanation


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
        import fnmatch
        return any(fnmatch.fnmatchcase(str(h).lower(), str(wanted[0]).lower()) for h in have)
    comparisons = {
        "OPERATOR_GREATER_THAN": lambda a, b: a > b, "OPERATOR_GREATER_THAN_EQUAL": lambda a, b: a >= b,
        "OPERATOR_LESS_THAN": lambda a, b: a < b, "OPERATOR_LESS_THAN_EQUAL": lambda a, b: a <= b,
    }
    if op in comparisons:
        return any(comparisons[op](h, wanted[0]) for h in have)
    raise WeaviateError(422, f"fake Weaviate does not implement filter operator {op}")


# ----- BM25F ------------------------------------------------------------------------------------

def bm25(collection: Collection, shard: list[StoredObject], allowed: list[StoredObject],
         query: str, properties: list[str]) -> list[Hit]:
    """BM25F scores of the allowed objects; corpus statistics come from the whole shard."""
    boosts = {}
    for spec in properties or collection.searchable():
        name, _, boost = spec.partition("^")
        if name not in collection.searchable():
            raise WeaviateError(422, f"property '{name}' is not searchable")
        boosts[name] = float(boost or 1.0)
    terms = [t for t in words(query) if t not in EN_STOPWORDS]
    if not terms or not shard:
        return []
    k1 = collection.schema["invertedIndexConfig"]["bm25"]["k1"]
    b = collection.schema["invertedIndexConfig"]["bm25"]["b"]
    average = {p: (sum(len(o.tokens.get(p, ())) for o in shard) / len(shard)) or 1.0 for p in boosts}
    idf = {}
    for term in set(terms):
        having = sum(1 for o in shard if any(term in o.tokens.get(p, ()) for p in boosts))
        idf[term] = math.log(1 + (len(shard) - having + 0.5) / (having + 0.5))
    hits = []
    for obj in allowed:
        score = 0.0
        for term in terms:
            weighted = sum(
                boost * obj.tokens.get(p, []).count(term)
                / (1 - b + b * len(obj.tokens.get(p, ())) / average[p])
                for p, boost in boosts.items())
            if weighted:
                score += idf[term] * weighted * (k1 + 1) / (weighted + k1)
        if score > 0:
            hits.append((obj, score, f", BM25F_{'_'.join(terms)}_frequency:{score:.6f}"))
    return sorted(hits, key=lambda h: (-h[1], h[0].uuid))


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
    return 1.0 - (float(a @ b) / norms if norms else 0.0)


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
           request: base_search_pb2.Hybrid) -> list[Hit]:
    alpha = request.alpha_param if request.use_alpha_param else request.alpha
    vector = query_vector(request)
    sets, weights, names = [], [], []
    if alpha < 1 and request.query:
        keyword = bm25(collection, shard, allowed, request.query, list(request.properties))
        sets.append([(o, s) for o, s, _ in keyword[:HYBRID_DEPTH]])
        weights.append(1 - alpha)
        names.append("keyword")
    if alpha > 0:
        if vector is None:
            raise WeaviateError(422, "hybrid: no vector given and the collection has no vectorizer")
        dense = near_vector(allowed, vector)[:HYBRID_DEPTH]
        sets.append([(o, 1 - d) for o, d, _ in dense])
        weights.append(alpha)
        names.append("vector")
    ranked = request.fusion_type == base_search_pb2.Hybrid.FusionType.FUSION_TYPE_RANKED
    return (_ranked_fusion if ranked else _relative_score_fusion)(sets, weights, names)


def _relative_score_fusion(sets, weights, names) -> list[Hit]:
    fused: dict[str, list] = {}
    for results, weight, name in zip(sets, weights, names, strict=True):
        if not results:
            continue
        low, high = min(s for _, s in results), max(s for _, s in results)
        for obj, original in results:
            score = weight * ((original - low) / (high - low) if high != low else 1.0)
            explain = (f"\nHybrid (Result Set {name}) Document {obj.uuid}: original score {original}, "
                       f"normalized score: {score}")
            entry = fused.setdefault(obj.uuid, [obj, 0.0, "", original])
            entry[1] += score
            entry[2] += explain
    ordered = sorted(fused.values(), key=lambda e: (-e[1], -e[3]))
    return [(obj, score, explain) for obj, score, explain, _ in ordered]


def _ranked_fusion(sets, weights, names) -> list[Hit]:
    fused: dict[str, list] = {}
    for results, weight, name in zip(sets, weights, names, strict=True):
        for rank, (obj, _) in enumerate(results):
            score = weight / (rank + 60)
            entry = fused.setdefault(obj.uuid, [obj, 0.0, ""])
            entry[1] += score
            entry[2] += f"\nHybrid (Result Set {name}) Document {obj.uuid} contributed {score} to the score"
    return [tuple(e) for e in sorted(fused.values(), key=lambda e: (-e[1], e[0].uuid))]
