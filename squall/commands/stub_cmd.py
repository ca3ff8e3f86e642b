"""``squall stub``: run the local Marketing Cloud stub in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from squall.stub import MarketingCloudStub
from squall.stub.cli_options import (
    ErrorRateOption,
    FaultSeedOption,
    LatencyOption,
    ThrottleRateOption,
    TokenTtlOption,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the CLI."""
    app.command("stub")(stub)


def stub(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")] = 8089,
    event_definition_key: Annotated[
        list[str] | None,
        typer.Option(
            "--event-definition-key",
            "-k",
            help="Accepted journey event definition key (repeat the option); default: accept any key.",
        ),
    ] = None,
    client_id: Annotated[str, typer.Option(help="Client id the token endpoint accepts.")] = "squall-local",
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SQUALL_STUB_CLIENT_SECRET",
            help="Client secret the token endpoint accepts; default: generated and printed once.",
            show_default=False,
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            envvar="SQUALL_STUB_WEBHOOK_SECRET",
            help="Secret the webhook receiver (POST /webhooks/NAME) verifies signatures with; default: generated "
            "and printed once.",
            show_default=False,
        ),
    ] = None,
    token_ttl: TokenTtlOption = 1200,
    error_rate: ErrorRateOption = 0.0,
    throttle_rate: ThrottleRateOption = 0.0,
    latency_ms: LatencyOption = 0,
    fault_seed: FaultSeedOption = None,
) -> None:
    """Serve Marketing Cloud's token, journey entry and rowset endpoints, and a webhook receiver, until Ctrl+C."""
    if error_rate + throttle_rate > 1:
        typer.echo("--error-rate plus --throttle-rate must not exceed 1", err=True)
        raise typer.Exit(2)
    server = MarketingCloudStub(
        event_definition_keys=set(event_definition_key or ()),
        client_id=client_id,
        client_secret=client_secret,
        token_ttl_s=token_ttl,
        host=host,
        port=port,
        error_rate=error_rate,
        throttle_rate=throttle_rate,
        latency_ms=latency_ms,
        seed=fault_seed,
        webhook_secret=webhook_secret,
    )
    try:
        server.start()
    except OSError as exc:
        typer.echo(f"cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from exc
    _print_banner(server, secret_was_generated=client_secret is None, webhook_secret_generated=webhook_secret is None)
    try:
        server.wait()
    except KeyboardInterrupt:
        typer.echo("stopping the Marketing Cloud stub")
    finally:
        server.stop()


def _print_banner(server: MarketingCloudStub, *, secret_was_generated: bool, webhook_secret_generated: bool) -> None:
    keys = server.event_definition_keys
    lines = [
        f"Marketing Cloud stub listening on {server.base_url}",
        "Point Squall at it with:",
        f"  SFMC_AUTH_BASE_URL={server.auth_base_url}",
        f"  SFMC_REST_BASE_URL={server.rest_base_url}",
        f"  SFMC_CLIENT_ID={server.client_id}",
    ]
    if secret_was_generated:
        lines.append(f"  SFMC_CLIENT_SECRET={server.client_secret}   (generated local fake, shown once)")
    else:
        lines.append("  SFMC_CLIENT_SECRET=<the secret you passed>")
    lines.append(f"Event definition keys: {', '.join(sorted(keys)) if keys else 'any'}")
    lines.append("Webhook receiver (signatures verified), e.g. for a destination named crm:")
    lines.append(f'  SQUALL_WEBHOOKS={{"crm": {{"url": "{server.webhook_url("crm")}", "allow_private": true}}}}')
    if webhook_secret_generated:
        lines.append(
            f'  SQUALL_WEBHOOK_SECRETS={{"crm": "{server.webhook_secret}"}}   (generated local fake, shown once)'
        )
    else:
        lines.append('  SQUALL_WEBHOOK_SECRETS={"crm": "<the webhook secret you passed>"}')
    rates = server.fault_rates
    if rates.error_rate or rates.throttle_rate or rates.latency_ms:
        lines.append(
            f"Injecting faults: {rates.error_rate:.0%} 5xx, {rates.throttle_rate:.0%} 429, "
            f"{rates.latency_ms} ms latency; tokens live {server.token_ttl_s:g} s"
        )
    lines.append(
        "Recorded: GET /_stub/received, /_stub/received/async, /_stub/received/rows, /_stub/received/webhooks, "
        "/_stub/stats"
    )
    lines.append("(DELETE /_stub/received resets). Ctrl+C stops.")
    typer.echo("\n".join(lines))
