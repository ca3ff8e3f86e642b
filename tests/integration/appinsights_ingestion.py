"""A local Application Insights ingestion endpoint (and managed-identity token endpoint) over real HTTP.

``POST .../v2.1/track`` records the telemetry envelopes the Azure Monitor exporters send and accepts
them all; ``GET /msi/token`` answers like App Service's managed-identity endpoint
(``IDENTITY_ENDPOINT``), so Entra ID authentication runs end to end without Azure. With
``tls=True`` it serves HTTPS with a throwaway self-signed certificate (bearer tokens are only sent
over TLS); point ``REQUESTS_CA_BUNDLE`` at ``ca_file`` to trust it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FAKE_TOKEN = "fake-entra-token-for-local-ingestion"
IDENTITY_HEADER = "local-identity-header"


class LocalIngestion:
    def __init__(self, *, tls_dir: Path | None = None) -> None:
        self.envelopes: list[dict[str, Any]] = []
        self.track_authorizations: list[str | None] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.ca_file: Path | None = None
        if tls_dir is not None:
            self.ca_file = _self_signed(tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.ca_file, tls_dir / "key.pem")
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls_dir is not None else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def connection_string(self) -> str:
        return f"InstrumentationKey=00000000-0000-4000-8000-000000000001;IngestionEndpoint={self.base_url}/"

    def __enter__(self) -> LocalIngestion:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, envelopes: list[dict[str, Any]], authorization: str | None) -> None:
        with self._lock:
            self.envelopes.extend(envelopes)
            self.track_authorizations.append(authorization)

    def of_type(self, base_type: str) -> list[dict[str, Any]]:
        """Envelopes whose data is ``base_type`` (RequestData, MessageData, MetricData...)."""
        return [e for e in self.envelopes if e.get("data", {}).get("baseType") == base_type]


def _handler_for(ingestion: LocalIngestion) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            envelopes = json.loads(body)
            ingestion.record(envelopes, self.headers.get("Authorization"))
            n = len(envelopes)
            self._json(200, {"itemsReceived": n, "itemsAccepted": n, "errors": []})

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            if url.path != "/msi/token" or self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
                self._json(404, {"error": "not found"})
                return
            query = parse_qs(url.query)
            ingestion.token_requests.append(query)
            expires_on = int(time.time()) + 3600
            self._json(200, {
                "access_token": FAKE_TOKEN, "expires_on": str(expires_on), "resource": query["resource"][0],
                "token_type": "Bearer", "client_id": query.get("client_id", [""])[0],
            })  # fmt: skip

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _self_signed(directory: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (directory / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_file = directory / "cert.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_file
