"""The media adapters' pure parts: SuperDuperAI's body and file states,
OpenAI's image bodies and replies."""

from __future__ import annotations

import base64

import pytest

from aihub.providers.errors import UpstreamUnavailable
from aihub.providers.media_base import MediaRequest
from aihub.providers.media_openai import generation_body, parse_images
from aihub.providers.media_superduperai import file_ids, file_state, submit_body


class TestSuperDuperAI:
    def test_submit_body_is_the_seeds(self) -> None:
        video = MediaRequest(
            kind="video",
            model="azure-openai/sora",
            prompt="анимированный логотип",
            width=1280,
            height=720,
            duration_s=10,
        )
        assert submit_body(video, None) == {
            "prompt": "анимированный логотип",
            "model": "azure-openai/sora",
            "count": 1,
            "width": 1280,
            "height": 720,
            "duration": 10,
        }
        image = MediaRequest(kind="image", model="m", prompt="p", count=2)
        assert submit_body(image, "ref-1") == {
            "prompt": "p",
            "model": "m",
            "count": 2,
            "references": [{"type": "source", "reference_id": "ref-1"}],
        }

    def test_file_ids_from_an_array_or_one_object(self) -> None:
        assert file_ids([{"id": "a"}, {"id": "b"}]) == ["a", "b"]
        assert file_ids({"id": "c"}) == ["c"]
        with pytest.raises(UpstreamUnavailable):
            file_ids([])
        with pytest.raises(UpstreamUnavailable):
            file_ids({"nope": 1})

    def test_file_states(self) -> None:
        running = {"url": None, "tasks": [{"status": "in_progress", "type": "flow"}]}
        state, progress, url = file_state({**running, "progress": 0.25})
        assert (state, progress.percent, progress.stage, url) == (
            "running",
            25.0,
            "flow",
            None,
        )
        assert file_state({**running, "progress": 40})[1].percent == 40.0
        assert file_state(running)[1].percent is None
        assert file_state({"url": "http://x/y.png", "tasks": []})[0] == "done"
        failed = {"url": None, "tasks": [{"status": "error", "type": "flow"}]}
        assert file_state(failed)[0] == "failed"


class TestOpenAIImages:
    def test_dall_e_asks_for_base64_and_gpt_image_does_not(self) -> None:
        dalle = MediaRequest(
            kind="image", model="dall-e-3", prompt="p", width=1024, height=1024
        )
        assert generation_body(dalle)["response_format"] == "b64_json"
        assert generation_body(dalle)["size"] == "1024x1024"
        gpt = MediaRequest(kind="image", model="gpt-image-1", prompt="p", quality="low")
        assert "response_format" not in generation_body(gpt)
        assert generation_body(gpt)["quality"] == "low"

    def test_replies_with_base64_or_urls(self) -> None:
        data = base64.b64encode(b"png-bytes").decode()
        outputs = parse_images(
            {"data": [{"b64_json": data, "revised_prompt": "r"}, {"url": "http://u"}]}
        )
        assert outputs[0].data == b"png-bytes"
        assert outputs[0].revised_prompt == "r"
        assert outputs[1].url == "http://u"
        bad_replies: list[dict[str, object]] = [
            {"data": []},
            {"data": [{"b64_json": "%%%"}]},
            {"nope": 1},
        ]
        for bad in bad_replies:
            with pytest.raises(UpstreamUnavailable):
                parse_images(bad)
