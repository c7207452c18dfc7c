"""Which image URLs are aihub's own file links (files.service.own_token)."""

from __future__ import annotations

import pytest

from aihub.files.service import link_bases, own_token

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWx"
BASES = link_bases("https://hub.example.org/aihub/", None, "http://127.0.0.1:8000")


def test_link_bases_drop_empty_values_slashes_and_repeats() -> None:
    assert link_bases("https://a.org/", None, "", "https://a.org") == ("https://a.org",)


@pytest.mark.parametrize(
    "url",
    [
        f"https://hub.example.org/aihub/api/files/{TOKEN}",
        f"HTTPS://HUB.example.org/aihub/api/files/{TOKEN}?x=1",
        f"http://127.0.0.1:8000/api/files/{TOKEN}",
        f"/api/files/{TOKEN}",
    ],
)
def test_our_links_give_their_token(url: str) -> None:
    assert own_token(url, BASES) == TOKEN


@pytest.mark.parametrize(
    "url",
    [
        "https://hub.example.org/aihub/api/files/upload",
        f"https://hub.example.org/aihub/api/files/{TOKEN}/more",
        "/api/files/short",
    ],
)
def test_our_links_naming_no_file_give_an_empty_token(url: str) -> None:
    assert own_token(url, BASES) == ""


@pytest.mark.parametrize(
    "url",
    [
        f"https://hub.example.org/api/files/{TOKEN}",  # outside the base path
        f"https://other.example.org/aihub/api/files/{TOKEN}",
        f"http://127.0.0.1:9000/api/files/{TOKEN}",
        "https://cdn.example.com/a.png",
        "data:image/png;base64,AAAA",
    ],
)
def test_other_urls_are_not_ours(url: str) -> None:
    assert own_token(url, BASES) is None
