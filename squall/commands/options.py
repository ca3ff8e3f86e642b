"""Options several commands share, each defined once: its name, its help and its parser.

--json                   print the answer as one JSON object
--json-field-map JSON    plain JSON records: canonical field -> dotted source path
--sfmc-url / --sfmc-auth-url / --sfmc-rest-url   a real Marketing Cloud instead of the local stub
--fail-on-dead-letters   exit 1 when anything was dead-lettered
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import typer

from shared.events import NormalizeOptions, parse_json_field_map
from shared.settings import get_settings
from squall.cli_errors import EXIT_FAILED, fail
from squall.local_destinations import MarketingCloudUrls

JsonOption = Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")]

JsonFieldMapOption = Annotated[
    str | None,
    typer.Option(
        "--json-field-map",
        metavar="JSON",
        help='For plain JSON records: canonical field -> dotted source path, e.g. \'{"id":"eventId",'
        '"type":"name","time":"ts","entity":"user.id"}\'. [default: SQUALL_JSON_FIELD_MAP]',
        show_default=False,
    ),
]

SfmcUrlOption = Annotated[
    str | None,
    typer.Option(
        "--sfmc-url",
        metavar="URL",
        help="Marketing Cloud (or a stub) serving tokens and REST on one URL; credentials from SFMC_* "
        "settings. [default: a local stub]",
        show_default=False,
    ),
]
SfmcAuthUrlOption = Annotated[
    str | None,
    typer.Option(
        "--sfmc-auth-url",
        metavar="URL",
        help="A tenant's auth base (https://SUBDOMAIN.auth.marketingcloudapis.com), with --sfmc-rest-url.",
        show_default=False,
    ),
]
SfmcRestUrlOption = Annotated[
    str | None,
    typer.Option(
        "--sfmc-rest-url",
        metavar="URL",
        help="A tenant's REST base (https://SUBDOMAIN.rest.marketingcloudapis.com), with --sfmc-auth-url.",
        show_default=False,
    ),
]

FailOnDeadLettersOption = Annotated[
    bool,
    typer.Option(
        "--fail-on-dead-letters",
        help=f"Exit {EXIT_FAILED} (after the report) when any event or action was dead-lettered.",
    ),
]


def normalize_options(json_field_map: str | None, *, source: str = "auto") -> NormalizeOptions:
    """``--source`` and ``--json-field-map`` (else ``SQUALL_JSON_FIELD_MAP``) as normalize options;
    exit 2 with one line naming the option or setting that is wrong."""
    text = json_field_map if json_field_map is not None else get_settings().json_field_map
    name = "--json-field-map" if json_field_map is not None else "SQUALL_JSON_FIELD_MAP"
    try:
        field_map = parse_json_field_map(text) if text else None
        return NormalizeOptions(source=source, json_field_map=field_map)  # type: ignore[arg-type]
    except ValueError as exc:
        message = str(exc)
        if message.startswith("source "):
            fail(f"--{message}")
        if "SQUALL_JSON_FIELD_MAP" not in message:
            message = f"{name}: {message}"
        fail(message.replace("SQUALL_JSON_FIELD_MAP", name))


def marketing_cloud_urls(sfmc_url: str | None, auth_url: str | None, rest_url: str | None) -> MarketingCloudUrls | None:
    """Where Marketing Cloud calls go: ``None`` (the local stub) when no option is given; ``--sfmc-url``
    serves both; ``--sfmc-auth-url`` and ``--sfmc-rest-url`` name each (and win over ``--sfmc-url``)."""
    if sfmc_url is None and auth_url is None and rest_url is None:
        return None
    auth, rest = auth_url or sfmc_url, rest_url or sfmc_url
    if auth is None:
        fail("--sfmc-rest-url needs --sfmc-auth-url too (the tenant's auth base), or give --sfmc-url")
    if rest is None:
        fail("--sfmc-auth-url needs --sfmc-rest-url too (the tenant's REST base), or give --sfmc-url")
    _check_url("--sfmc-auth-url" if auth_url else "--sfmc-url", auth)
    _check_url("--sfmc-rest-url" if rest_url else "--sfmc-url", rest)
    return MarketingCloudUrls(auth_base_url=auth, rest_base_url=rest)


def _check_url(option: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        fail(f"{option} must be an http(s) URL such as https://SUBDOMAIN.rest.marketingcloudapis.com (got {url!r})")
