"""Media type and dimensions from a file's bytes."""

from __future__ import annotations

from aihub.files.probe import probe, sniff
from aihub.files.service import clean_filename, token_of
from tests.fakes.media_upstream import make_mp4, make_png


class TestProbe:
    def test_png_size(self) -> None:
        found = probe(make_png(123, 45))
        assert (found.media_type, found.width, found.height) == ("image/png", 123, 45)
        assert found.extension == ".png"

    def test_mp4_size_and_duration(self) -> None:
        found = probe(make_mp4(1920, 1080, 7.5))
        assert found.media_type == "video/mp4"
        assert (found.width, found.height, found.duration_s) == (1920, 1080, 7.5)

    def test_truncated_or_unknown_bytes_do_not_raise(self) -> None:
        assert probe(make_png(10, 10)[:20]).width is None
        assert probe(make_mp4()[:40]).media_type == "video/mp4"
        assert probe(b"hello").media_type is None
        assert sniff(b"") is None
        assert probe(b"\x00\x00\x00\x01ftyp" + b"\xff" * 50).media_type == "video/mp4"


class TestLinks:
    def test_token_of_links_and_bare_tokens(self) -> None:
        token = "A" * 32
        assert token_of(f"http://h:1/api/files/{token}") == token
        assert token_of(f"/api/files/{token}") == token
        assert token_of(token) == token
        assert token_of("https://cdn.qwenlm.ai/x/y.jpg") is None
        assert token_of("/api/files/../secret") is None

    def test_clean_filename(self) -> None:
        assert clean_filename("../../etc/passwd", "x") == "passwd"
        assert clean_filename("C:\\a\\b.png", "x") == "b.png"
        assert clean_filename("", "default.png") == "default.png"
        assert clean_filename("...", "d") == "d"
