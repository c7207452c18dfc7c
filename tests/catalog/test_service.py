from __future__ import annotations

from typing import Any

import pytest

from aihub.catalog import service
from aihub.catalog.errors import MediaRequestInvalidError, ModelNotFoundError

SEED_KEYS = [
    "provider",
    "id",
    "name",
    "description",
    "max_tokens",
    "pricing",
    "capabilities",
]


def _listed(
    models: list[dict[str, Any]], provider: str, model_id: str
) -> dict[str, Any]:
    return next(m for m in models if (m["provider"], m["id"]) == (provider, model_id))


class TestAvailableModels:
    def test_every_model_has_the_seed_keys_in_order(self) -> None:
        body = service.available_models().model_dump(mode="json")
        assert body["models"]
        for model in body["models"]:
            assert list(model)[: len(SEED_KEYS)] == SEED_KEYS

    def test_seed_examples_are_listed_with_the_seed_figures(self) -> None:
        models = service.available_models().model_dump(mode="json")["models"]
        gpt4 = _listed(models, "openai", "gpt-4")
        opus = _listed(models, "anthropic", "claude-3-opus")
        assert (gpt4["name"], gpt4["max_tokens"]) == ("GPT-4", 8192)
        assert gpt4["pricing"] == {"input": 10.0, "output": 30.0}
        assert (opus["name"], opus["max_tokens"]) == ("Claude 3 Opus", 200000)
        assert opus["pricing"]["input"] == 15.0
        assert opus["pricing"]["output"] == 75.0

    def test_pricing_carries_only_the_prices_a_model_has(self) -> None:
        models = service.available_models().model_dump(mode="json")["models"]
        assert _listed(models, "openai", "gpt-4o")["pricing"] == {
            "input": 2.5,
            "output": 10.0,
            "cached_input": 1.25,
        }
        # the seed's input/output are always there: 0 for a model that charges
        # nothing per token, with its own unit beside them (SuperDuperAI's in
        # its credits too, and in dollars at AIHUB_SUPERDUPERAI_USD_PER_CREDIT)
        assert _listed(models, "superduperai", "azure-openai/sora")["pricing"] == {
            "input": 0.0,
            "output": 0.0,
            "per_second": 0.02,
            "credits_per_second": 2.0,
        }

    def test_media_models_say_what_they_accept(self) -> None:
        models = service.available_models().model_dump(mode="json")["models"]
        sora = _listed(models, "superduperai", "azure-openai/sora")
        assert sora["kind"] == "video"
        assert "1280x720" in sora["accepts"]["sizes"]
        assert sora["accepts"]["duration"] == {"min": 5, "max": 20}
        assert "accepts" not in _listed(models, "openai", "gpt-4o")

    def test_discovered_known_model_gets_the_base_models_price(self) -> None:
        result = service.available_models([("openai_compatible", "openai/gpt-4o")])
        row = result.models[-1]
        assert (row.provider, row.id, row.source) == (
            "openai_compatible",
            "openai/gpt-4o",
            "discovered",
        )
        assert row.pricing is not None
        assert (row.pricing.input, row.pricing.output) == (2.5, 10.0)
        assert row.max_tokens == 128000

    def test_discovered_unknown_model_has_null_pricing_and_chat(self) -> None:
        body = service.available_models([("openai_compatible", "llama3:8b")])
        row = body.model_dump(mode="json")["models"][-1]
        assert row == {
            "provider": "openai_compatible",
            "id": "llama3:8b",
            "name": "llama3:8b",
            "description": service.DISCOVERED_DESCRIPTION,
            "max_tokens": None,
            "pricing": {"input": None, "output": None},
            "capabilities": ["chat"],
            "kind": "chat",
            "source": "discovered",
        }

    def test_discovered_duplicates_and_bad_ids_are_skipped(self) -> None:
        catalog_size = len(service.available_models().models)
        result = service.available_models(
            [
                ("openai", "gpt-4o"),
                ("openai_compatible", "mistral"),
                ("openai_compatible", "MISTRAL"),
                ("openai_compatible", "  "),
                ("openai_compatible", "m" * 201),
            ]
        )
        assert len(result.models) == catalog_size + 1
        assert result.models[-1].id == "mistral"

    def test_providers_filter_limits_the_catalog(self) -> None:
        result = service.available_models(providers={"qwen"})
        assert {row.provider for row in result.models} == {"qwen"}


class TestGetModel:
    def test_known_model_is_returned(self) -> None:
        assert service.get_model("anthropic", "claude-3-opus-20240229").id == (
            "claude-3-opus"
        )

    def test_unknown_model_is_not_found(self) -> None:
        with pytest.raises(ModelNotFoundError) as caught:
            service.get_model("openai", "gpt-17")
        assert (caught.value.status_code, caught.value.error_type) == (
            404,
            "not_found",
        )


class TestListModels:
    def test_kind_filter_returns_only_that_kind(self) -> None:
        videos = service.list_models(kind="video")
        assert {info.id for info in videos} == {
            "azure-openai/sora",
            "google-cloud/veo2",
            "google-cloud/veo3",
        }

    def test_provider_filter_returns_only_that_provider(self) -> None:
        assert {i.provider for i in service.list_models(provider="azure")} == {"azure"}


class TestCheckMediaRequest:
    def test_seed_image_request_fits_imagen_4(self) -> None:
        info = service.check_media_request(
            "superduperai",
            "google-cloud/imagen4",
            kind="image",
            count=1,
            width=1024,
            height=1024,
        )
        assert info.id == "google-cloud/imagen4"

    def test_seed_video_request_fits_sora(self) -> None:
        info = service.check_media_request(
            "superduperai",
            "azure-openai/sora",
            kind="video",
            count=1,
            width=1280,
            height=720,
            duration=10,
        )
        assert info.pricing.credits_per_second == 2.0
        assert info.pricing.per_second == 0.02

    def test_flux_kontext_takes_any_size_in_range_and_an_input_image(self) -> None:
        service.check_media_request(
            "superduperai",
            "flux-kontext",
            kind="image",
            size="1200x800",
            has_input_image=True,
        )

    @pytest.mark.parametrize(
        ("model", "kind", "params", "problem"),
        [
            ("google-cloud/imagen4", "image", {"size": "1000x1000"}, "size must be"),
            ("google-cloud/imagen4", "image", {"size": "big"}, "not WIDTHxHEIGHT"),
            ("google-cloud/imagen4", "image", {"width": 1024}, "go together"),
            ("google-cloud/imagen4", "image", {"count": 5}, "count must be"),
            ("google-cloud/imagen4", "image", {"count": 0}, "count must be"),
            ("google-cloud/imagen4", "image", {"duration": 5}, "no duration"),
            (
                "google-cloud/imagen4",
                "image",
                {"has_input_image": True},
                "no input image",
            ),
            ("azure-openai/sora", "video", {"duration": 25}, "5 to 20 seconds"),
            ("google-cloud/veo3", "video", {"duration": 4}, "5 to 8 seconds"),
            ("flux-kontext", "image", {"size": "4096x512"}, "width must be"),
            ("google-cloud/imagen4", "video", {}, "not a known video model"),
            ("nope", "image", {}, "not a known image model"),
        ],
    )
    def test_bad_combination_is_a_validation_error(
        self, model: str, kind: Any, params: dict[str, Any], problem: str
    ) -> None:
        with pytest.raises(MediaRequestInvalidError, match=problem) as caught:
            service.check_media_request("superduperai", model, kind=kind, **params)
        assert (caught.value.status_code, caught.value.error_type) == (
            422,
            "validation_error",
        )

    def test_dall_e_3_rejects_an_unknown_quality(self) -> None:
        with pytest.raises(MediaRequestInvalidError, match="standard, hd"):
            service.check_media_request(
                "azure", "dall-e-3", kind="image", quality="ultra"
            )

    def test_every_problem_is_listed_at_once(self) -> None:
        with pytest.raises(MediaRequestInvalidError) as caught:
            service.check_media_request(
                "superduperai", "azure-openai/sora", kind="video", count=3, duration=60
            )
        assert "count must be" in caught.value.message
        assert "duration must be" in caught.value.message
