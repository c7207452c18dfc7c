"""The keys screen: a provider key added through the form shows masked with
its health; a gateway key is created with models, limits and a budget, its
secret is shown once (and works against /v1), and it can be revoked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import WebServer
from tests.factories import Account


def test_provider_key_is_added_masked_with_health(
    signed_in_page: Page,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
) -> None:
    page = signed_in_page
    page.goto("/keys")
    # the hub's global key, which this user falls back on, with its health
    shared = page.locator(".keys-shared")
    expect(shared.get_by_role("heading")).to_have_text("Shared by your administrators")
    expect(shared.get_by_role("listitem")).to_have_text("OpenAI (fake upstream) OK")
    page.get_by_role("button", name="Add provider key").click()
    dialog = page.get_by_role("dialog", name="Add provider key")
    dialog.get_by_label("Provider", exact=True).select_option("anthropic")
    dialog.get_by_label("Name", exact=True).fill("my claude")
    dialog.get_by_label("Key", exact=True).fill("sk-ant-e2e-secret-123456789")
    axe(page)
    dialog.get_by_role("button", name="Add key").click()
    expect(dialog).to_be_hidden()

    row = page.get_by_role("row", name="my claude")
    expect(row).to_contain_text("Anthropic")
    expect(row).to_contain_text("OK")
    expect(row).not_to_contain_text("sk-ant-e2e-secret-123456789")
    stored = web_server.api("GET", "/api/api-keys/", web_user, expect=200).json()
    assert [k["name"] for k in stored] == ["my claude"]
    expect(row.locator("code")).to_have_text(stored[0]["api_key"])

    # a key the provider rejected reads "Invalid" with the reason
    web_server.run(lambda: _mark_invalid(web_server, stored[0]["id"]))
    page.reload()
    row = page.get_by_role("row", name="my claude")
    expect(row).to_contain_text("Invalid")
    expect(row).to_contain_text("401 from the provider")

    row.get_by_role("button", name="Delete my claude").click()
    page.get_by_role("dialog", name="Delete provider key?").get_by_role(
        "button", name="Delete key"
    ).click()
    expect(page.get_by_role("row", name="my claude")).to_have_count(0)
    assert web_server.api("GET", "/api/api-keys/", web_user, expect=200).json() == []


async def _mark_invalid(web_server: WebServer, key_id: int) -> None:
    """What the key pool records after a 401 (the state the page shows)."""
    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import create_async_engine

    from aihub.provider_keys.models import ProviderKey

    url = web_server.settings.database_url
    assert url is not None
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(ProviderKey)
                .where(ProviderKey.id == key_id)
                .values(status="invalid", last_error="401 from the provider")
            )
    finally:
        await engine.dispose()


def test_gateway_key_secret_is_shown_once(
    signed_in_page: Page,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    page = signed_in_page
    page.goto("/keys")
    expect(page.get_by_role("heading", name="Gateway keys")).to_be_visible()
    page.get_by_role("button", name="Create gateway key").click()
    form = page.get_by_role("dialog", name="Create a gateway key")
    form.get_by_label("Name").fill("ci script")
    form.get_by_label("Allowed models").fill("gpt-4o-mini, claude-*")
    form.get_by_label("Requests per minute").fill("60")
    form.get_by_label("Budget (USD)").fill("12.50")
    form.get_by_role("button", name="Create key").click()

    secret_dialog = page.get_by_role("dialog", name="Your new gateway key")
    expect(secret_dialog).to_be_visible()
    expect(secret_dialog).to_have_accessible_description(
        "Copy it now: this is the only time it is shown. aihub keeps only its hash."
    )
    secret = secret_dialog.get_by_label("Key for ci script").input_value()
    assert secret.startswith("ahk-")
    assert len(secret) > 20
    axe(page)
    shot(page, "keys-gateway-secret")

    # the secret is a working key: the gateway accepts it
    models = web_server.api(
        "GET", "/v1/models", headers={"Authorization": f"Bearer {secret}"}
    )
    assert models.status_code == 200, models.text

    secret_dialog.get_by_role("button", name="Done").click()
    expect(secret_dialog).to_be_hidden()
    # never shown again: not in the list, not after a reload
    row = page.get_by_role("row", name="ci script")
    expect(row).to_contain_text("gpt-4o-mini, claude-*")
    expect(row).to_contain_text("60 req/min")
    expect(row).to_contain_text("$0.00 of $12.50")
    expect(row).to_contain_text("Active")
    assert secret not in page.content()
    page.reload()
    expect(page.get_by_role("row", name="ci script")).to_be_visible()
    assert secret not in page.content()
    stored = web_server.api("GET", "/api/gateway-keys/", web_user, expect=200).json()
    assert [(k["name"], k["models"], k["rpm"], k["budget_usd"]) for k in stored] == [
        ("ci script", ["gpt-4o-mini", "claude-*"], 60, 12.5)
    ]
    assert secret.startswith(stored[0]["key_prefix"])
    axe(page)
    shot(page, "keys-gateway")

    # limits and budget can be changed later (the secret stays the same)
    page.get_by_role("button", name="Edit ci script").click()
    edit = page.get_by_role("dialog", name="Edit ci script")
    expect(edit.get_by_label("Budget (USD)")).to_have_value("12.5")
    edit.get_by_label("Budget (USD)").fill("20")
    edit.get_by_label("Requests per minute").fill("")
    edit.get_by_role("button", name="Save changes").click()
    expect(edit).to_be_hidden()
    row = page.get_by_role("row", name="ci script")
    expect(row).to_contain_text("$0.00 of $20.00")
    expect(row.get_by_role("cell", name="none")).to_be_visible()
    edited = web_server.api("GET", "/api/gateway-keys/", web_user).json()[0]
    assert (edited["budget_usd"], edited["rpm"]) == (20.0, None)

    page.get_by_role("button", name="Revoke ci script").click()
    page.get_by_role("dialog", name="Revoke this key?").get_by_role(
        "button", name="Revoke key"
    ).click()
    expect(page.get_by_role("row", name="ci script")).to_contain_text("Revoked")
    refused = web_server.api(
        "GET", "/v1/models", headers={"Authorization": f"Bearer {secret}"}
    )
    assert refused.status_code == 401
