"""What differs between Weaviate releases, for the behaviours this project depends on.

The fake reports one version (GET /v1/meta) and behaves as that release does. Each fact below was
read in Weaviate's Go sources at the tags named (github.com/weaviate/weaviate):

- Aliases exist from 1.32.0 (the /v1/aliases endpoints).
- 1.32.0-1.32.2 resolved an alias everywhere a collection name was accepted, schema operations
  included (cluster/schema/schema.go, unsafeResolveClass). 1.32.3 stopped that ("alias: Avoid
  changing collection properties via alias"): schema and tenant operations need the collection's
  own name, and the gRPC handlers resolve aliases themselves (adapters/handlers/grpc/v1/service.go).
- 1.32.3-1.32.5: the gRPC BatchDelete handler did not resolve aliases, so deleting by filter through
  an alias fails with "could not find class <alias> in schema"; 1.32.6 fixed it ("Resolve alias
  before batch delete", service.go batchDelete).
- Tied scores (BM25 and hybrid fusion) are ordered by the lowest object id from the "order by
  lowest id on tied score" fix (v1.32.24, v1.33.11, v1.34.7, v1.35.2, and every 1.36+ release);
  before it BM25 ties came in internal document order and fusion ties by the highest id
  (usecases/traverser/hybrid/hybrid_fusion.go, adapters/repos/db/inverted/bm25_searcher_block.go).
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]

_TIES_FIXED_IN = {(1, 32): 24, (1, 33): 11, (1, 34): 7, (1, 35): 2}


def parse(version: str) -> Version:
    found = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", version)
    if not found:
        raise ValueError(f"not a Weaviate version: {version!r}")
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def has_aliases(version: Version) -> bool:
    return version >= (1, 32, 0)


def schema_operations_resolve_aliases(version: Version) -> bool:
    return (1, 32, 0) <= version < (1, 32, 3)


def batch_delete_resolves_aliases(version: Version) -> bool:
    return not (1, 32, 3) <= version < (1, 32, 6)


def ties_by_lowest_id(version: Version) -> bool:
    fixed_patch = _TIES_FIXED_IN.get(version[:2])
    if fixed_patch is not None:
        return version[2] >= fixed_patch
    return version >= (1, 36, 0)
