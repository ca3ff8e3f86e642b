"""Fault-injection options shared by ``squall stub`` and ``squall demo`` (same names, same help)."""

from __future__ import annotations

from typing import Annotated

import typer

ErrorRateOption = Annotated[
    float,
    typer.Option(
        "--error-rate", min=0.0, max=1.0, help="Share of Marketing Cloud REST requests answered 500/503 (0-1)."
    ),
]
ThrottleRateOption = Annotated[
    float,
    typer.Option(
        "--throttle-rate",
        min=0.0,
        max=1.0,
        help="Share answered 429: half with Retry-After (errorcode 50100), half without (50200).",
    ),
]
LatencyOption = Annotated[
    int, typer.Option("--latency-ms", min=0, help="Delay added to every REST answer, in milliseconds.")
]
TokenTtlOption = Annotated[
    float, typer.Option("--token-ttl", min=1, help="Access token lifetime in seconds (expires_in).")
]
FaultSeedOption = Annotated[
    int | None, typer.Option("--fault-seed", help="Seed for the injected faults (same seed, same faults).")
]
