"""``is_ip_address`` (inet_pton first) accepts exactly what ``ipaddress.ip_address`` accepts."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events.client_ip import is_ip_address


def by_ipaddress(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


octets = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "0x1", "", " 1", "1 ", "+1"]))
ipv4_like = st.lists(octets, min_size=1, max_size=5).map(".".join)
groups = st.one_of(
    st.integers(0, 0x1FFFF).map(lambda value: f"{value:x}"),
    st.sampled_from(["", "0000", "00000", "FFFF", "g", "1.2.3.4", "01.2.3.4", "%eth0", "1%2"]),
)
ipv6_like = st.lists(groups, min_size=1, max_size=10).map(":".join)
texts = st.one_of(ipv4_like, ipv6_like, st.text(alphabet="0123456789abcdefABCDEF.:%[]x \x00", max_size=45))


@settings(max_examples=3000, deadline=None)
@given(text=texts)
def test_fast_check_agrees_with_ipaddress(text: str) -> None:
    assert is_ip_address(text) == by_ipaddress(text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("10.11.0.229", True),
        ("255.255.255.255", True),
        ("256.1.1.1", False),
        ("01.2.3.4", False),  # leading zeros: refused by both
        ("1.2.3", False),
        ("2001:db8::1", True),
        ("::ffff:10.11.0.229", True),
        ("ffff:10.11.0.229", False),
        ("fe80::1%eth0", True),  # scoped: inet_pton refuses it, ipaddress accepts it
        ("1:2:3:4:5:6:7:8:9", False),
        ("1.2.3.4\x00", False),
    ],
)
def test_known_forms(text: str, valid: bool) -> None:
    assert is_ip_address(text) is valid
    assert by_ipaddress(text) is valid
