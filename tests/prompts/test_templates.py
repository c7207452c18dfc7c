from __future__ import annotations

import pytest

from aihub.prompts.templates import RenderedTooLongError, render, variables


class TestVariables:
    def test_are_found_in_order_of_first_appearance_including_cyrillic(
        self,
    ) -> None:
        template = "План по {название_продукта} на {тема} и снова {тема}"
        assert variables(template) == ["название_продукта", "тема"]

    def test_may_hold_digits_and_underscores(self) -> None:
        assert variables("{item_2} {2nd} {_x} {тема2}") == [
            "item_2",
            "2nd",
            "_x",
            "тема2",
        ]

    def test_double_braces_are_not_variables(self) -> None:
        assert variables("{{not}} a {var}") == ["var"]

    @pytest.mark.parametrize(
        "template",
        ["", "no braces", "{}", "{ x }", "{a b}", "{x-y}", "{a.b}", "{", "}", "{{}}"],
    )
    def test_other_braces_are_plain_text(self, template: str) -> None:
        assert variables(template) == []


class TestRender:
    def test_fills_every_variable(self) -> None:
        assert render("Идеи на тему {тема}", {"тема": "весна"}) == (
            "Идеи на тему весна",
            [],
        )

    def test_double_braces_become_literal_braces(self) -> None:
        assert render("{{x}} = {x}", {"x": "1"}) == ("{x} = 1", [])
        assert render("{{{x}}}", {"x": "1"}) == ("{1}", [])
        assert render('{{"json": true}}', {}) == ('{"json": true}', [])

    def test_other_braces_are_kept_as_written(self) -> None:
        template = "{} { x } {a-b} { }} {"
        assert render(template, {"x": "no"}) == ("{} { x } {a-b} { } {", [])

    def test_missing_variables_are_reported_once_and_left_in_place(self) -> None:
        text, missing = render("{a} {b} {c} {a}", {"b": "B"})
        assert missing == ["a", "c"]
        assert text == "{a} B {c} {a}"

    def test_extra_values_are_ignored(self) -> None:
        assert render("{a}", {"a": "1", "z": "2"}) == ("1", [])

    def test_values_are_not_rendered_again(self) -> None:
        assert render("{a}", {"a": "{b}", "b": "no"}) == ("{b}", [])
        assert render("{a}", {"a": "{{"}) == ("{{", [])

    def test_empty_values_are_allowed(self) -> None:
        assert render("[{a}]", {"a": ""}) == ("[]", [])

    def test_a_result_within_the_limit_is_returned(self) -> None:
        assert render("ab{x}", {"x": "cd"}, max_length=4) == ("abcd", [])

    def test_a_value_passing_the_limit_raises(self) -> None:
        with pytest.raises(RenderedTooLongError) as caught:
            render("{x}" * 1000, {"x": "y" * 1000}, max_length=10_000)
        assert caught.value.limit == 10_000

    def test_trailing_text_passing_the_limit_raises(self) -> None:
        with pytest.raises(RenderedTooLongError):
            render("{x}" + "z" * 10, {"x": ""}, max_length=5)
