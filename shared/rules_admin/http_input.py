"""What an HTTP caller sends besides the body, read defensively: ``If-Match`` and version numbers.

A malformed value becomes ``RequestInvalid`` (400) with a detail that says what to fix — never an
exception the HTTP edge would answer with 500 (``int("²")`` and a 5,000-digit ``int()`` raise
``ValueError``). Bodies: ``request_body.read_json_body``. Framework-free, so the API and tests share it.
"""

from __future__ import annotations

import re

from shared.rules_admin.errors import RequestInvalid

#: A version number: 1-15 ASCII digits (ETags and ``version`` parameters).
_VERSION = re.compile(r"[0-9]{1,15}")


def parse_if_match(header: str | None) -> int | None:
    """The version named by If-Match (``"3"``, ``W/"3"``, ``3``); ``None`` when absent or ``*``."""
    text = (header or "").strip()
    if not text or text == "*":
        return None
    bare = text.removeprefix("W/")
    if len(bare) >= 2 and bare[0] == bare[-1] == '"':
        bare = bare[1:-1]
    if not _VERSION.fullmatch(bare):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise RequestInvalid(f'If-Match must be a rule set version ETag such as "3"; got {shown!r}')
    return int(bare)


def parse_version(text: str | None, *, name: str = "version") -> int | None:
    """A version number parameter (``None`` when absent); 400 unless 1-15 ASCII digits."""
    if text is None or text == "":
        return None
    if not _VERSION.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise RequestInvalid(f"{name!r} must be a version number such as 3; got {shown!r}")
    return int(text)
