"""The Weaviate tenants that hold each team's knowledge base (weaviate.multi_tenancy).

Team T's generation g lives in the tenant "T--g<g>" of the live collection; the metadata object
names which one is live. Tenant management is a schema operation, so it addresses the collection by
its own name: since Weaviate 1.32.3 schema and tenant endpoints no longer resolve aliases
(cluster/schema/schema.go, "alias: Avoid changing collection properties via alias").

A tenant Weaviate reports as INACTIVE (COLD) refuses searches and writes with "tenant not active"
(adapters/repos/db/index.go, v1.32.5 and v1.39.0); setting it ACTIVE again is one REST call, made
here. An OFFLOADED tenant only comes back through the offload-s3 module, which takes a while and may
not be enabled, so for that one the error says what to do instead of waiting.
"""

from __future__ import annotations

import structlog
import weaviate
from weaviate.classes.tenants import TenantActivityStatus

from bot.knowledge.stores.protocol import IndexStoreError

log = structlog.get_logger(__name__)
_ACTIVE = {TenantActivityStatus.ACTIVE, TenantActivityStatus.HOT}
_ACTIVATABLE = {TenantActivityStatus.INACTIVE, TenantActivityStatus.COLD}


def shard_name(tenant: str, generation: int) -> str:
    """The physical Weaviate tenant holding one generation of a team's knowledge base."""
    return f"{tenant}--g{generation}"


def not_active(exc: BaseException) -> bool:
    """Weaviate refused a request because the tenant it names is not active."""
    return "tenant not active" in _message(exc)


def not_found(exc: BaseException) -> bool:
    return "tenant not found" in _message(exc)


def _message(exc: BaseException) -> str:
    return f"{exc} {exc.__cause__ or ''}".lower()


def create(client: weaviate.WeaviateClient, collection: str, shard: str) -> None:
    tenants = client.collections.use(collection).tenants
    if tenants.exists(shard):  # left by an interrupted rebuild
        tenants.remove([shard])
    tenants.create([shard])


def remove(client: weaviate.WeaviateClient, collection: str, shard: str) -> None:
    client.collections.use(collection).tenants.remove([shard])


def ensure_active(client: weaviate.WeaviateClient, collection: str, shard: str, team: str) -> bool:
    """Activate the team's tenant if Weaviate deactivated it; True when it had to."""
    try:
        found = client.collections.use(collection).tenants.get_by_name(shard)
    except ValueError:  # FREEZING / UNFREEZING, which weaviate-client 4.23 cannot parse
        raise IndexStoreError(
            f"Team {team}'s knowledge base (Weaviate tenant {shard} of {collection}) is moving to or "
            "from cold storage; try again in a minute.") from None
    if found is None:
        raise IndexStoreError(f"Team {team}'s knowledge base (Weaviate tenant {shard} of {collection}) "
                              f"is missing; run `supportbot index --full --tenant {team}` to rebuild it.")
    status = found.activity_status
    if status in _ACTIVE:
        return False
    if status not in _ACTIVATABLE:
        raise IndexStoreError(
            f"Team {team}'s knowledge base (Weaviate tenant {shard} of {collection}) is "
            f"{status.value}: Weaviate moved it to cold storage. Set it ACTIVE in Weaviate (needs the "
            f"offload-s3 module; it answers again once loading finishes), or run "
            f"`supportbot index --full --tenant {team}` to rebuild it now.")
    client.collections.use(collection).tenants.activate(shard)
    log.warning("activated an inactive team knowledge base", team=team, tenant=shard, was=status.value)
    return True
