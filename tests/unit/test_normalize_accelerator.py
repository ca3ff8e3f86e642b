"""The compiled copy of the normalization hot path: built, current, used, and equal to the source.

``make test`` (like ``pip install -e .``) builds ``shared.events._normalize_compiled`` from
shared/events/normalize.py with Cython; these tests hold it to the pure-Python code record by record
and check when it is (not) used. See shared/events/accelerator.py.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shared.events.normalize as normalize_module
from shared.events import BatchNormalized, NormalizeOptions, RawEvent
from shared.events import accelerator as accelerator_module
from shared.events.accelerator import COMPILED_MODULE, PURE_PYTHON_ENV, compiled_copy, source_digest
from squall.synthetic import generate_o365_bytes, generate_o365_records
from tests.fixtures import FIXTURES_DIR, jsonl_lines

ROOT = Path(__file__).resolve().parents[2]
ENQUEUED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PURE_REQUESTED = accelerator_module.pure_python_requested()


def compiled() -> ModuleType:
    if PURE_REQUESTED:
        pytest.skip(f"{PURE_PYTHON_ENV} is set: the pure-Python code is under test")
    if not normalize_module.ACCELERATED:
        pytest.fail(
            f"{COMPILED_MODULE} is not built or not current: run `make accel` (needs Cython and a C compiler)"
        )
    return importlib.import_module(COMPILED_MODULE)


def test_the_compiled_copy_is_built_from_the_current_source_and_used() -> None:
    # GIVEN the installed package  THEN normalize_batch runs the compiled copy of this very source
    copy = compiled()
    assert copy.__file__ is not None and not copy.__file__.endswith(".py")
    assert source_digest(normalize_module.__file__) == copy.SOURCE_SHA256
    assert copy.pure_normalize_batch is normalize_module._run_batch
    assert normalize_module.pure_normalize_batch is not copy.pure_normalize_batch


def messages(bodies: list[Any], **fields: Any) -> list[RawEvent]:
    values = {"partition": "1", "enqueued_time": ENQUEUED, **fields}
    return [RawEvent(body=body, sequence_number=number, **values) for number, body in enumerate(bodies)]


def fixture_bodies() -> list[bytes]:
    """Every fixture record, array and sample as a message body: every format, good and bad."""
    bodies = [line for path in sorted(FIXTURES_DIR.glob("*.jsonl")) for line in jsonl_lines(path.name)]
    for path in sorted(FIXTURES_DIR.glob("*.json")):
        stack: list[Any] = [msgspec.json.decode(path.read_bytes())]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                bodies.append(msgspec.json.encode(value))
                stack.extend(value.values())
            elif isinstance(value, list):
                bodies.append(msgspec.json.encode(value))
                stack.extend(value)
    return bodies


def assert_same(raws: list[RawEvent], options: NormalizeOptions = normalize_module.DEFAULT_OPTIONS) -> BatchNormalized:
    """Both implementations on fresh copies of the same messages (records are decoded per call)."""
    expected = normalize_module.pure_normalize_batch(raws, options)
    actual = compiled().pure_normalize_batch(raws, options)
    assert actual.events == expected.events
    assert [event.model_fields_set for event in actual.events] == [e.model_fields_set for e in expected.events]
    assert actual.rejections == expected.rejections
    return actual


def test_every_fixture_normalizes_alike_compiled_and_pure() -> None:
    bodies = fixture_bodies()
    result = assert_same(messages(bodies))
    assert result.events and result.rejections  # both paths were exercised
    assert len(bodies) > 100


@pytest.mark.parametrize("source", ["auto", "o365", "cloudevents", "eventgrid", "iothub", "json"])
def test_forced_formats_normalize_alike(source: str) -> None:
    options = NormalizeOptions(source=source, json_field_map={"id": "Id", "type": "Operation", "entity": "UserId",
                               "time": "CreationTime"} if source == "json" else None)  # type: ignore[arg-type]  # fmt: skip
    assert_same(messages(fixture_bodies()[:200]), options)


def test_synthetic_stream_normalizes_alike() -> None:
    result = assert_same(messages(list(generate_o365_bytes(3000, seed=11))))
    assert len(result.events) == 3000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=25),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
O365_KEYS = ["Id", "CreationTime", "UserId", "Workload", "Operation", "OrganizationId", "ClientIP", "ClientIPAddress",
             "RecordType", "UserType", "ResultStatus", "workload", "client_ip"]  # fmt: skip
TIMES = st.sampled_from(["2024-01-08T08:00:00", "2024-01-08T08:00:00Z", "2024-02-30T08:00:00", "2024-01-08 08:00:00",
                         "2024-01-08T08:00:00.1234567", "20240108T080000", "2024-01-08T24:00:00"])  # fmt: skip


@st.composite
def o365_like(draw: st.DrawFn) -> bytes:
    """A real-looking O365 record with some fields replaced by any JSON value, deleted, or odd times."""
    record = dict(next(generate_o365_records(1, seed=draw(st.integers(0, 7)))))  # 8 populations, cached
    for key in draw(st.lists(st.sampled_from(O365_KEYS), max_size=4)):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            record.pop(key, None)
        elif choice == 1:
            record[key] = draw(json_values)
        else:
            record[key] = draw(TIMES) if key == "CreationTime" else draw(st.text(max_size=12))
    return msgspec.json.encode(record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(o365_like() | st.binary(max_size=40) | json_values.map(msgspec.json.encode), max_size=8))
def test_random_messages_normalize_alike(bodies: list[bytes]) -> None:
    assert_same(messages(bodies))


@pytest.fixture
def fake_copy(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A stand-in compiled module under the real name, stamped with the current digest."""
    module = ModuleType(COMPILED_MODULE)
    module.SOURCE_SHA256 = source_digest(normalize_module.__file__)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, COMPILED_MODULE, module)
    monkeypatch.delenv(PURE_PYTHON_ENV, raising=False)
    return module


def test_a_current_copy_is_used(fake_copy: ModuleType) -> None:
    assert compiled_copy("shared.events.normalize", normalize_module.__file__) is fake_copy


def test_a_copy_built_from_another_source_is_ignored_with_a_warning(
    fake_copy: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a compiled copy stamped with the digest of an older normalize.py
    fake_copy.SOURCE_SHA256 = "0" * 64  # type: ignore[attr-defined]
    # WHEN the reference module asks for it  THEN it is not used, and the log says how to rebuild
    with caplog.at_level(logging.WARNING, logger=accelerator_module.__name__):
        assert compiled_copy("shared.events.normalize", normalize_module.__file__) is None
    assert "built from another version of normalize.py" in caplog.text and "make accel" in caplog.text


def test_an_unstamped_copy_is_ignored(fake_copy: ModuleType) -> None:
    del fake_copy.SOURCE_SHA256  # type: ignore[attr-defined]
    assert compiled_copy("shared.events.normalize", normalize_module.__file__) is None


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_the_environment_can_ask_for_pure_python(
    fake_copy: ModuleType, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(PURE_PYTHON_ENV, value)
    assert compiled_copy("shared.events.normalize", normalize_module.__file__) is None


def test_the_copy_never_loads_itself(fake_copy: ModuleType) -> None:
    assert compiled_copy(COMPILED_MODULE, fake_copy.__name__) is None


def test_a_missing_copy_means_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, COMPILED_MODULE, None)  # type: ignore[arg-type]  # import fails
    monkeypatch.delenv(PURE_PYTHON_ENV, raising=False)
    assert compiled_copy("shared.events.normalize", normalize_module.__file__) is None


@pytest.mark.parametrize(("env", "expected"), [({PURE_PYTHON_ENV: "1"}, "False"), ({PURE_PYTHON_ENV: ""}, "True")])
def test_a_fresh_process_picks_the_code_the_environment_asks_for(env: dict[str, str], expected: str) -> None:
    compiled()
    code = "import shared.events.normalize as n; print(n.ACCELERATED)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == expected
