"""Weaviate as the policy index: connection, schema, store, update and tenancy.

Kept free of imports so that `bot.knowledge.stores.weaviate.tenancy` loads without grpc.
"""
