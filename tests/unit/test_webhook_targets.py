"""Webhook targets: private, loopback and link-local addresses are refused unless allowed."""

from __future__ import annotations

import asyncio

import pytest

from shared.actions.webhook.targets import TargetRefused, address_problem, check_target


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # cloud instance metadata
        ("fe80::1%eth0", "link-local"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped IPv6
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_non_public_addresses_are_named(address: str, problem: str) -> None:
    assert address_problem(address) == problem


@pytest.mark.parametrize("address", ["20.190.160.1", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


def fixed_resolver(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def test_a_host_with_any_private_address_is_refused_with_the_reason() -> None:
    # GIVEN a host name that resolves to a public and a private address (a classic SSRF trick)
    resolver = fixed_resolver("20.190.160.1", "10.0.0.7")
    # WHEN checked  THEN refused, naming the host, the address and the setting to allow it
    with pytest.raises(
        TargetRefused, match=r"hooks\.example\.test resolves to 10\.0\.0\.7, a private address.*allow_private"
    ):
        asyncio.run(check_target("https://hooks.example.test/x", allow_private=False, resolver=resolver))


def test_allow_private_skips_the_check() -> None:
    asyncio.run(check_target("http://127.0.0.1:9/x", allow_private=True, resolver=fixed_resolver("127.0.0.1")))


def test_literal_loopback_url_is_refused_by_default() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        asyncio.run(check_target("http://127.0.0.1:8080/hook", allow_private=False))
