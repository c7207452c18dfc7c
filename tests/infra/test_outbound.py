"""The outbound URL policy (aihub.infra.outbound): which addresses users may
reach, and the guarded session that enforces it on every connection.

Refused targets are loopback listeners that count accepts (never any other
address: a refused URL is refused before a socket exists). Host names other
than ``localhost`` (answered by /etc/hosts) go through a stand-in resolver, so
no DNS query leaves the machine."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from aihub.infra.outbound import (
    ALLOW_HINT,
    OutboundPolicy,
    OutboundRefusedError,
    guarded_session,
    same_origin,
)
from tests.fakes.listener import AcceptRecorder


class NameResolver(AbstractResolver):
    """DNS stand-in: each name answers its next list of addresses (the last
    one repeats), so a test can change an answer as a rebinding attack would."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        queue = self._answers.get(host)
        if not queue:
            raise OSError(f"unknown host {host}")
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[AcceptRecorder]:
    listener = AcceptRecorder("::1")
    yield listener
    listener.close()


@pytest.fixture
def recorder_v4() -> Iterator[AcceptRecorder]:
    listener = AcceptRecorder("127.0.0.1")
    yield listener
    listener.close()


async def _refusal(policy: OutboundPolicy, url: str) -> str:
    with pytest.raises(OutboundRefusedError) as caught:
        await policy.check_url(url)
    return caught.value.rule


REFUSED = [
    ("http://127.0.0.1:8080/admin", "is a loopback address (127.0.0.1)"),
    ("http://127.9.9.9/", "is a loopback address (127.9.9.9)"),
    ("http://[::1]:11434/v1", "is a loopback address (::1)"),
    ("http://[::ffff:127.0.0.1]/", "is a loopback address (::ffff:7f00:1)"),
    ("http://[::127.0.0.1]/", "is a loopback address (::7f00:1)"),
    ("http://[64:ff9b::10.0.0.1]/", "is a private address (64:ff9b::a00:1)"),
    ("http://[2002:a9fe:a9fe::]/", "is a cloud metadata address (2002:a9fe:a9fe::)"),
    ("http://2130706433/", "is a loopback address (127.0.0.1)"),
    ("http://0177.0.0.1/", "is a loopback address (127.0.0.1)"),
    ("http://0x7f.1/", "is a loopback address (127.0.0.1)"),
    ("http://127.1/", "is a loopback address (127.0.0.1)"),
    ("http://10.1.2.3/v1", "is a private address (10.1.2.3)"),
    ("http://172.16.0.1/", "is a private address (172.16.0.1)"),
    ("http://192.168.1.10/", "is a private address (192.168.1.10)"),
    ("http://100.64.0.1/", "is a shared (CGNAT) address (100.64.0.1)"),
    ("http://[fd12:3456::1]/", "is a private address (fd12:3456::1)"),
    ("http://169.254.169.254/latest/meta-data/", "is a cloud metadata address"),
    ("http://[fd00:ec2::254]/", "is a cloud metadata address (fd00:ec2::254)"),
    ("http://169.254.1.1/", "is a link-local address (169.254.1.1)"),
    ("http://[fe80::1]/", "is a link-local address (fe80::1)"),
    ("http://224.0.0.1/", "is a multicast address (224.0.0.1)"),
    ("http://[ff02::1]/", "is a multicast address (ff02::1)"),
    ("http://0.0.0.0:8000/", "is an unspecified address (0.0.0.0)"),
    ("http://[::]/", "is an unspecified address (::)"),
    ("http://metadata.google.internal/", "names a cloud metadata host"),
]


class TestCheckUrl:
    @pytest.mark.parametrize(("url", "rule"), REFUSED)
    async def test_internal_addresses_are_refused(self, url: str, rule: str) -> None:
        policy = OutboundPolicy.from_allow([], resolver=NameResolver({}))

        assert rule in await _refusal(policy, url)

    async def test_a_name_resolving_to_loopback_is_refused(self) -> None:
        policy = OutboundPolicy.from_allow([])  # the real resolver: /etc/hosts

        rule = await _refusal(policy, "http://localhost:8000/v1")

        assert rule == "resolves to a loopback address (127.0.0.1)"

    async def test_one_internal_address_among_public_ones_is_enough(self) -> None:
        resolver = NameResolver({"mixed.test": [["93.184.216.34", "10.0.0.7"]]})
        policy = OutboundPolicy.from_allow([], resolver=resolver)

        rule = await _refusal(policy, "https://mixed.test/v1")

        assert rule == "resolves to a private address (10.0.0.7)"

    async def test_public_addresses_pass_without_any_connection(self) -> None:
        resolver = NameResolver({"api.public.test": [["93.184.216.34"]]})
        policy = OutboundPolicy.from_allow([], resolver=resolver)

        await policy.check_url("https://api.public.test/v1")
        await policy.check_url("https://8.8.8.8/v1")
        await policy.check_url("https://[2606:4700::1111]/v1")

        assert resolver.asked == ["api.public.test"]

    @pytest.mark.parametrize(
        ("url", "rule"),
        [
            ("ftp://files.public.test/", "uses the scheme 'ftp' (only http and https)"),
            ("file:///etc/passwd", "uses the scheme 'file' (only http and https)"),
            ("http://user:pw@8.8.8.8/", "carries a user name or password (user@host)"),
            ("http://u@8.8.8.8/", "carries a user name or password (user@host)"),
        ],
    )
    async def test_other_schemes_and_userinfo_are_refused(
        self, url: str, rule: str
    ) -> None:
        policy = OutboundPolicy.from_allow([], resolver=NameResolver({}))

        assert await _refusal(policy, url) == rule

    async def test_a_name_that_does_not_resolve_cannot_be_checked(self) -> None:
        policy = OutboundPolicy.from_allow([], resolver=NameResolver({}))

        rule = await _refusal(policy, "http://nowhere.test/")

        assert rule == "has a host that does not resolve (nowhere.test)"

    async def test_the_message_names_the_rule_and_the_setting(self) -> None:
        policy = OutboundPolicy.from_allow([], resolver=NameResolver({}))
        with pytest.raises(OutboundRefusedError) as caught:
            await policy.check_url("http://127.0.0.1:9/")

        assert caught.value.explain("base_url") == (
            f"base_url is a loopback address (127.0.0.1); {ALLOW_HINT}"
        )
        assert "AIHUB_OUTBOUND_ALLOW" in ALLOW_HINT


class TestAllowance:
    async def test_a_cidr_opens_its_addresses_only(self) -> None:
        policy = OutboundPolicy.from_allow(
            ["10.20.0.0/16", " fd12::/16 "], resolver=NameResolver({})
        )

        await policy.check_url("http://10.20.3.4:8000/v1")
        await policy.check_url("http://[fd12::5]/v1")
        await policy.check_url("http://[::ffff:10.20.3.4]/v1")
        assert "private" in await _refusal(policy, "http://10.21.0.1/")
        assert "loopback" in await _refusal(policy, "http://127.0.0.1/")

    async def test_a_host_name_opens_that_name_whatever_it_resolves_to(self) -> None:
        resolver = NameResolver(
            {"vllm.corp.test": [["10.0.0.5"]], "other.corp.test": [["10.0.0.6"]]}
        )
        policy = OutboundPolicy.from_allow(["vllm.corp.test"], resolver=resolver)

        await policy.check_url("http://VLLM.corp.test.:8000/v1")
        assert "private" in await _refusal(policy, "http://other.corp.test/")
        assert "private" in await _refusal(policy, "http://10.0.0.5:8000/v1")

    async def test_a_wildcard_opens_a_domain(self) -> None:
        resolver = NameResolver({"a.lab.test": [["192.168.5.5"]]})
        policy = OutboundPolicy.from_allow(["*.lab.test"], resolver=resolver)

        await policy.check_url("http://a.lab.test/v1")
        assert "private" in await _refusal(policy, "http://192.168.5.5/")

    async def test_the_settings_value_is_split_on_commas(self) -> None:
        from aihub.core.settings import Settings

        settings = Settings(outbound_allow="10.0.0.0/8, vllm.corp.test,,")  # type: ignore[arg-type]  # the env's text form

        assert settings.outbound_allow == ["10.0.0.0/8", "vllm.corp.test"]


@pytest.fixture
async def allowed_server(
    recorder: AcceptRecorder,
) -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that answers /redirect with a 302 to the
    refused listener, /meta and /to-private with a 302 to the metadata address and
    a private one, else 200."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path == "/redirect":
            raise web.HTTPFound(f"{recorder.url}/latest/meta-data/")
        if request.path == "/meta":
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")
        if request.path == "/to-private":
            raise web.HTTPFound("http://10.0.0.1/admin")
        return web.Response(text="fine")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # aiohttp keeps the socket here
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


class TestGuardedSession:
    async def test_loopback_is_never_connected(
        self, recorder: AcceptRecorder, recorder_v4: AcceptRecorder
    ) -> None:
        policy = OutboundPolicy.from_allow([])
        async with guarded_session(policy) as http:
            for url in (
                recorder.url,
                recorder_v4.url,
                f"http://localhost:{recorder_v4.port}/",
                f"http://[::ffff:127.0.0.1]:{recorder_v4.port}/",
                f"http://2130706433:{recorder_v4.port}/",
            ):
                with pytest.raises(OutboundRefusedError):
                    await http.get(url)
        await recorder.settle()

        assert recorder.accepted == 0
        assert recorder_v4.accepted == 0

    async def test_an_allowed_address_is_reached(
        self, allowed_server: tuple[str, list[str]]
    ) -> None:
        base, seen = allowed_server
        policy = OutboundPolicy.from_allow(["127.0.0.1"])
        async with guarded_session(policy) as http, http.get(f"{base}/ok") as resp:
            assert resp.status == 200
            assert await resp.text() == "fine"

        assert seen == ["/ok"]

    @pytest.mark.parametrize("path", ["/redirect", "/meta", "/to-private"])
    async def test_a_redirect_to_a_refused_address_is_not_followed(
        self,
        allowed_server: tuple[str, list[str]],
        recorder: AcceptRecorder,
        path: str,
    ) -> None:
        base, seen = allowed_server
        policy = OutboundPolicy.from_allow(["127.0.0.1/32"])
        async with guarded_session(policy) as http:
            with pytest.raises(OutboundRefusedError):
                await http.get(f"{base}{path}")
        await recorder.settle()

        assert seen == [path]  # the allowed hop was made, the refused one not
        assert recorder.accepted == 0

    async def test_an_address_that_changes_after_the_check_is_refused(
        self, recorder: AcceptRecorder
    ) -> None:
        resolver = NameResolver({"rebind.test": [["93.184.216.34"], ["::1"]]})
        policy = OutboundPolicy.from_allow([], resolver=resolver)

        await policy.check_url("http://rebind.test/")  # saved: a public address
        async with guarded_session(policy) as http:
            with pytest.raises(OutboundRefusedError) as caught:
                await http.get(f"http://rebind.test:{recorder.port}/")
        await recorder.settle()

        assert caught.value.rule == "resolves to a loopback address (::1)"
        assert recorder.accepted == 0

    async def test_the_connection_goes_to_the_address_checked(
        self, allowed_server: tuple[str, list[str]]
    ) -> None:
        """The name is resolved once, by the policy: the connector connects to
        the address that was checked (an allowed name here)."""
        base, seen = allowed_server
        port = base.rsplit(":", 1)[1]
        resolver = NameResolver({"pinned.test": [["127.0.0.1"], ["::1"]]})
        policy = OutboundPolicy.from_allow(["127.0.0.1"], resolver=resolver)
        async with (
            guarded_session(policy) as http,
            http.get(f"http://pinned.test:{port}/pinned") as resp,
        ):
            assert resp.status == 200

        assert resolver.asked == ["pinned.test"]
        assert seen == ["/pinned"]

    async def test_the_refusal_is_an_aiohttp_client_error(self) -> None:
        """Code that handles aiohttp's failures sees it (no connection made)."""
        assert issubclass(OutboundRefusedError, aiohttp.ClientError)
        assert not issubclass(OutboundRefusedError, OSError)


class TestSameOrigin:
    @pytest.mark.parametrize(
        ("url", "base", "same"),
        [
            ("https://api.x.test/files/1.png", "https://api.x.test", True),
            ("https://API.x.test:443/f", "https://api.x.test/v1", True),
            ("http://api.x.test/f", "https://api.x.test", False),
            ("https://api.x.test:8443/f", "https://api.x.test", False),
            ("http://127.0.0.1:9/f", "http://127.0.0.1:8/", False),
            ("https://cdn.x.test/f", "https://api.x.test", False),
            ("not a url", "https://api.x.test", False),
        ],
    )
    def test_scheme_host_and_port_must_match(
        self, url: str, base: str, same: bool
    ) -> None:
        assert same_origin(url, base) is same
