"""Which dead letters hold an entity's data (``shared.store.deadletter_entity``): the letter's recorded
entity when it has one, else its payload — any JSON string equal to the key, or the key as a whole
token in bytes that are not JSON."""

from __future__ import annotations

import json

import pytest

from shared.store.deadletter_entity import letter_holds_entity, payload_names_entity

ANN = "ann@contoso.com"


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"UserId": ANN, "Id": "r-1"}).encode(),  # an O365 record the normalizer refused
        json.dumps([{"a": [{"b": {"c": ANN}}]}]).encode(),  # nested in an array body
        json.dumps({ANN: 1}).encode(),  # a member name
        b'{"who": "ann\\u0040contoso.com"}',  # spelled with an escape
        "\ufeff".encode() + json.dumps({"UserId": ANN}).encode(),  # behind a byte-order mark
        b'{"x": 1}\n\n{"UserId": "ann@contoso.com"}\n',  # JSON Lines
        b"\xff\xfe user=ann@contoso.com; more",  # not UTF-8: a whole token
        b"ann@contoso.com",
        b"[" * 5000 + b'"ann@contoso.com"' + b"]" * 5000,  # too deep for json: read as bytes
    ],
)
def test_a_payload_naming_the_key_holds_the_entity(payload: bytes) -> None:
    assert payload_names_entity(payload, ANN)


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"UserId": "jo" + ANN}).encode(),  # a longer address
        json.dumps({"UserId": "Ann@contoso.com"}).encode(),  # keys are compared exactly
        json.dumps({"note": f"mail {ANN} later"}).encode(),  # inside a longer JSON string
        b"\xff\xfe user=joann@contoso.com;",
        b"\xff\xfe user=ann@contoso.com.au;",
        b"",
    ],
)
def test_a_payload_that_does_not_name_the_key_does_not_hold_it(payload: bytes) -> None:
    assert not payload_names_entity(payload, ANN)


def test_a_recorded_entity_decides_alone() -> None:
    mentions_ann = json.dumps({"entity": "bob", "data": {"referrer": ANN}}).encode()
    assert not letter_holds_entity("bob", mentions_ann, ANN)
    assert letter_holds_entity(ANN, b"{}", ANN)
    assert letter_holds_entity(None, mentions_ann, ANN)
