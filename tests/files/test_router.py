"""Seed 004's POST /api/files/upload and serving stored files to their owner."""

from __future__ import annotations

import httpx

from tests.factories import make_user
from tests.fakes.media_upstream import make_mp4, make_png

GIF = b"GIF89a" + bytes([3, 0, 2, 0]) + b"\x00" * 20
WEBP = b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 8 + bytes([9, 0, 0, 4, 0, 0])
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    b"\xff\xd9"
)


class TestUpload:
    async def test_upload_answers_the_seeds_image_url_and_serves_the_bytes(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        png = make_png(40, 30)

        response = await client.post(
            "/api/files/upload",
            files={"file": ("../../etc/закат.png", png, "image/png")},
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        assert list(response.json()) == ["imageUrl"]
        url = response.json()["imageUrl"]
        assert url.startswith("http://aihub/api/files/")
        served = await client.get(url, headers=user.headers)
        assert served.status_code == 200
        assert served.content == png
        assert served.headers["content-type"] == "image/png"
        assert "inline" in served.headers["content-disposition"]
        listed = await client.get("/api/files/", headers=user.headers)
        [row] = listed.json()
        assert row["url"] == url
        assert (row["width"], row["height"], row["bytes"]) == (40, 30, len(png))
        assert row["media_type"] == "image/png"
        assert "/" not in row["filename"]
        assert ".." not in row["filename"]

    async def test_every_seed_image_format_is_accepted_with_its_size(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        cases = [
            ("a.gif", GIF, "image/gif", (3, 2)),
            ("a.webp", WEBP, "image/webp", (10, 5)),
            ("a.jpeg", JPEG, "image/jpeg", (64, 48)),
            ("a.jpg", JPEG, "image/jpeg", (64, 48)),
        ]
        for name, data, _type, _size in cases:
            response = await client.post(
                "/api/files/upload",
                files={"file": (name, data, "application/octet-stream")},
                headers=user.headers,
            )
            assert response.status_code == 200, (name, response.text)
        rows = (await client.get("/api/files/", headers=user.headers)).json()
        found = {(r["media_type"], r["width"], r["height"]) for r in rows}
        assert found == {(m, *s) for _, _, m, s in cases}

    async def test_not_an_image_is_a_validation_error(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for name, data in (("x.png", b"not really a png"), ("v.mp4", make_mp4())):
            response = await client.post(
                "/api/files/upload",
                files={"file": (name, data, "image/png")},
                headers=user.headers,
            )
            assert response.status_code == 422
            assert response.json()["error"] is True
            assert response.json()["error_type"] == "validation_error"
        missing = await client.post("/api/files/upload", headers=user.headers)
        assert missing.status_code == 422

    async def test_a_file_over_the_limit_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        big = make_png(8, 8) + b"\x00" * (1024 * 1024 + 10)
        response = await client.post(
            "/api/files/upload",
            files={"file": ("big.png", big, "image/png")},
            headers=user.headers,
        )
        assert response.status_code == 413
        assert response.json()["error"] is True

    async def test_upload_needs_credentials(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/files/upload", files={"file": ("a.png", make_png(), "image/png")}
        )
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"


class TestServe:
    async def test_another_users_file_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await make_user(client)
        other = await make_user(client)
        uploaded = await client.post(
            "/api/files/upload",
            files={"file": ("a.png", make_png(), "image/png")},
            headers=owner.headers,
        )
        url = uploaded.json()["imageUrl"]

        stolen = await client.get(url, headers=other.headers)
        anonymous = await client.get(url)

        assert stolen.status_code == 404
        assert stolen.json()["error_type"] == "not_found"
        assert anonymous.status_code == 401
        assert (await client.get("/api/files/", headers=other.headers)).json() == []
        assert (await client.get(url, headers=owner.headers)).status_code == 200

    async def test_a_malformed_token_is_rejected(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for token in ("short", "a" * 65):  # tokens are 16 to 64 URL-safe characters
            response = await client.get(f"/api/files/{token}", headers=user.headers)
            assert response.status_code == 422, token
            assert response.json()["error_type"] == "validation_error", token
        # An encoded slash is decoded before routing: no file route matches.
        response = await client.get("/api/files/..%2F..%2Fetc", headers=user.headers)
        assert response.status_code == 404
        assert response.json()["error_type"] == "not_found"
        unknown = await client.get(f"/api/files/{'b' * 32}", headers=user.headers)
        assert unknown.status_code == 404
