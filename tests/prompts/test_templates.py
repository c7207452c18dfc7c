from __future__ import annotations

from aihub.prompts.templates import render, variables


def test_variables_are_found_in_order_including_cyrillic_names() -> None:
    template = "План по {название_продукта} на {тема} и снова {тема}"
    assert variables(template) == ["название_продукта", "тема"]


def test_double_braces_are_literal() -> None:
    assert variables("{{not}} a {var}") == ["var"]
    assert render("{{x}} = {x}", {"x": "1"}) == ("{x} = 1", [])


def test_missing_variables_are_reported_and_left_in_place() -> None:
    text, missing = render("{a} {b} {c}", {"b": "B"})
    assert missing == ["a", "c"]
    assert text == "{a} B {c}"


def test_values_are_not_rendered_again() -> None:
    assert render("{a}", {"a": "{b}", "b": "no"}) == ("{b}", [])
