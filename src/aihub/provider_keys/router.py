from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/api-keys", tags=["api-keys"])
admin_router = APIRouter(prefix="/api/admin/api-keys", tags=["admin"])
