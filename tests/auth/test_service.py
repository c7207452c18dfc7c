from __future__ import annotations

import pytest
from pydantic import ValidationError

from aihub.core.security import decoy_password_hash, hash_password, verify_password
from aihub.core.settings import Settings


def _parameters(password_hash: str) -> str:
    """ "$argon2id$v=19$m=65536,t=3,p=4$salt$hash" -> "argon2id$v=19$m=...,p=4"."""
    return "$".join(password_hash.split("$")[1:4])


class TestUnknownUserHash:
    async def test_costs_what_a_real_password_hash_costs(
        self, settings: Settings
    ) -> None:
        # Equal parameters mean equal verify time for unknown and known logins.
        real = await hash_password("any-password-at-all", settings)
        assert _parameters(await decoy_password_hash(settings)) == _parameters(real)

    async def test_matches_no_likely_password(self, settings: Settings) -> None:
        decoy = await decoy_password_hash(settings)
        for guess in ("", "password", "not-a-real-password", "admin"):
            assert not await verify_password(guess, decoy)


class TestPasswordHashCost:
    async def test_new_hashes_use_the_configured_cost(self, settings: Settings) -> None:
        cheap = await hash_password("pw-12345678", settings)
        assert _parameters(cheap) == "argon2id$v=19$m=8,t=1,p=1"
        dearer = settings.model_copy(
            update={"password_hash_time_cost": 2, "password_hash_memory_kib": 64}
        )
        assert _parameters(await hash_password("pw-12345678", dearer)) == (
            "argon2id$v=19$m=64,t=2,p=1"
        )
        # A hash made at one cost still verifies after the cost changes.
        assert await verify_password("pw-12345678", cheap)

    def test_production_default_is_argon2s_default(self) -> None:
        defaults = Settings.model_fields
        assert defaults["password_hash_time_cost"].default == 3
        assert defaults["password_hash_memory_kib"].default == 65536
        assert defaults["password_hash_parallelism"].default == 4

    def test_memory_below_argon2s_minimum_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="at least 8 times"):
            Settings(password_hash_memory_kib=16, password_hash_parallelism=4)
