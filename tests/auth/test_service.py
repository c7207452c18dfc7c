from __future__ import annotations

from aihub.auth.service import UNKNOWN_USER_HASH
from aihub.core.security import hash_password, verify_password


def _parameters(password_hash: str) -> str:
    """ "$argon2id$v=19$m=65536,t=3,p=4$salt$hash" -> "argon2id$v=19$m=...,p=4"."""
    return "$".join(password_hash.split("$")[1:4])


class TestUnknownUserHash:
    async def test_costs_what_a_real_password_hash_costs(self) -> None:
        # Equal parameters mean equal verify time for unknown and known logins.
        real = await hash_password("any-password-at-all")
        assert _parameters(UNKNOWN_USER_HASH) == _parameters(real)

    async def test_matches_no_likely_password(self) -> None:
        for guess in ("", "password", "not-a-real-password", "admin"):
            assert not await verify_password(guess, UNKNOWN_USER_HASH)
