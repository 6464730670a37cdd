"""Policy stores: the PolicyIndex protocol (protocol.py) and its two implementations, the embedded
local hybrid index (local.py) and Weaviate (weaviate/)."""
