"""Gateway keys (``ahk-...``): their table's queries, the owner's CRUD
(/api/gateway-keys), the per-process cache that authenticates them, and the
runtime that keeps that cache and the spend ledger."""
