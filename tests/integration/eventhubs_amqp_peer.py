"""A local AMQP 1.0 peer that accepts what an Event Hubs producer sends, built on Apache Qpid Proton.

Proton does all of the protocol work (SASL ANONYMOUS, open/begin/attach, flow, transfers,
dispositions). The peer adds only what Event Hubs adds on top: the ``$cbs`` node that answers
``put-token`` requests with 202, and a hub node that accepts batches and records, per batch, the
partition key and each event's body and content type.

One honest adjustment, and only on the bytes the peer sends: AMQP lets an encoder omit trailing
null fields of a performative and Proton does, but azure-eventhub 5.15.1's pure-Python AMQP layer
indexes performative fields by position and fails on such frames. ``PerformativePadder`` re-writes
each outgoing performative with its omitted trailing fields as explicit nulls — the same frame by
the specification (AMQP 1.0 §1.4, list-encoded composite types) — and touches nothing else.

The producer connects in "development emulator" mode (``UseDevelopmentEmulator=true``: plain TCP,
no TLS), the mode the SDK uses for the official Event Hubs emulator.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from proton import (
    UNDESCRIBED,
    Array,
    Collector,
    Connection,
    Data,
    Delivery,
    Event,
    Message,
    Transport,
    timestamp,
)

from tests.integration.amqp_performative_padding import PerformativePadder

DATA_SECTION, MESSAGE_ANNOTATIONS, PROPERTIES = 0x75, 0x72, 0x73
PARTITION_KEY = "x-opt-partition-key"


@dataclass
class ReceivedBatch:
    """One batch as the hub node received it."""

    address: str
    partition_key: str | None
    bodies: list[bytes] = field(default_factory=list)
    content_types: list[str | None] = field(default_factory=list)


class EventHubsTestPeer:
    """Listens on 127.0.0.1; ``connection_string`` points a producer at it. Use as a context manager."""

    def __init__(
        self, *, hub: str = "usage-events", partitions: int = 4, max_message_size: int = 1024 * 1024
    ) -> None:
        self.hub = hub
        self.partition_ids = [str(number) for number in range(partitions)]
        self.max_message_size = max_message_size
        self.batches: list[ReceivedBatch] = []
        self.token_audiences: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def connection_string(self) -> str:
        port = self._listener.getsockname()[1]
        return (
            f"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName=local-test;SharedAccessKey=not-a-secret;"
            f"UseDevelopmentEmulator=true;EntityPath={self.hub}"
        )

    def __enter__(self) -> EventHubsTestPeer:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._spawn(_PeerConnection(self, client).run)


class _PeerConnection:
    """One accepted socket driven through a Proton transport by hand (no reactor)."""

    def __init__(self, peer: EventHubsTestPeer, client: socket.socket) -> None:
        self._peer = peer
        self._socket = client
        self._socket.settimeout(0.02)
        self._collector = Collector()
        self._connection = Connection()
        self._connection.container = "squall-test-peer"
        self._connection.collect(self._collector)
        self._transport = Transport(Transport.SERVER)
        sasl = self._transport.sasl()
        sasl.allowed_mechs("ANONYMOUS")
        self._transport.bind(self._connection)
        self._padder = PerformativePadder()
        self._replies = 0

    def run(self) -> None:
        with self._socket:
            while not self._peer._stopping.is_set() and not self._transport.closed:
                self._flush()
                if not self._read():
                    break
                self._transport.tick(time.monotonic())
                self._dispatch()
            self._flush()

    def _read(self) -> bool:
        try:
            data = self._socket.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            return False
        if not data:
            self._transport.close_tail()
            return False
        self._transport.push(data)
        return True

    def _flush(self) -> None:
        pending = self._transport.pending()
        if pending > 0:
            out = self._transport.peek(pending)
            self._transport.pop(pending)
            try:
                self._socket.sendall(self._padder.feed(out))
            except OSError:
                self._transport.close_head()

    def _dispatch(self) -> None:
        while (event := self._collector.peek()) is not None:
            self._handle(event)
            self._collector.pop()
            self._flush()

    def _handle(self, event: Event) -> None:
        kind = event.type
        if kind == Event.CONNECTION_REMOTE_OPEN:
            event.connection.open()
        elif kind == Event.SESSION_REMOTE_OPEN:
            event.session.open()
        elif kind == Event.LINK_REMOTE_OPEN:
            self._attach(event.link)
        elif kind == Event.DELIVERY and event.link.is_receiver:
            self._receive(event.delivery)
        elif kind == Event.LINK_REMOTE_CLOSE:
            event.link.close()
        elif kind == Event.SESSION_REMOTE_CLOSE:
            event.session.close()
        elif kind == Event.CONNECTION_REMOTE_CLOSE:
            event.connection.close()

    def _attach(self, link: Any) -> None:
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        if link.is_receiver:
            link.max_message_size = self._peer.max_message_size
        link.open()
        if link.is_receiver:
            link.flow(100)

    def _receive(self, delivery: Delivery) -> None:
        if not delivery.readable or delivery.partial:
            return
        link = delivery.link
        payload = link.recv(delivery.pending)
        link.advance()
        address = link.remote_target.address or ""
        if address == "$cbs":
            self._reply(link, payload, self._answer_put_token)
        elif address == "$management":
            self._reply(link, payload, self._answer_management_read)
        else:
            self._peer.batches.append(decode_batch(address, payload))
        delivery.update(Delivery.ACCEPTED)
        delivery.settle()
        link.flow(1)

    def _answer_put_token(self, request: Message) -> Message:
        self._peer.token_audiences.append(str((request.properties or {}).get("name")))
        return Message(properties={"status-code": 202, "status-description": "Accepted"})

    def _answer_management_read(self, request: Message) -> Message:
        """READ com.microsoft:eventhub: the hub's name, creation time and partition ids."""
        body = {
            "name": self._peer.hub,
            "type": "com.microsoft:eventhub",
            "created_at": timestamp(1_700_000_000_000),
            "partition_count": len(self._peer.partition_ids),
            "partition_ids": Array(UNDESCRIBED, Data.STRING, *self._peer.partition_ids),
        }
        return Message(body=body, properties={"status-code": 200, "status-description": "OK"})

    def _reply(self, request_link: Any, payload: bytes, answer: Any) -> None:
        request = Message()
        request.decode(payload)
        reply = answer(request)
        reply.correlation_id = request.id
        node = request_link.remote_target.address
        senders = [
            link
            for link in _links_of(request_link.connection)
            if link.is_sender and link.remote_source.address == node
        ]
        preferred = [
            link for link in senders if request.reply_to and link.remote_target.address == request.reply_to
        ]
        link = (preferred or senders)[0]
        self._replies += 1
        delivery = link.delivery(f"reply-{self._replies}".encode())
        link.send(reply.encode())
        link.advance()
        delivery.settle()


def _links_of(connection: Any) -> list[Any]:
    links, link = [], connection.link_head(0)
    while link is not None:
        links.append(link)
        link = link.next(0)
    return links


def decode_batch(address: str, payload: bytes) -> ReceivedBatch:
    """An Event Hubs batch message: its partition key and each inner event's body and content type."""
    sections = _sections(payload)
    annotations = sections.get(MESSAGE_ANNOTATIONS, [{}])[0]
    batch = ReceivedBatch(address=address, partition_key=_annotation(annotations, PARTITION_KEY))
    for inner in sections.get(DATA_SECTION, []):
        inner_sections = _sections(bytes(inner))
        batch.bodies.append(b"".join(bytes(part) for part in inner_sections.get(DATA_SECTION, [])))
        properties = inner_sections.get(PROPERTIES, [None])[0]
        batch.content_types.append(_content_type(properties))
    return batch


def _sections(encoded: bytes) -> dict[int, list[Any]]:
    sections: dict[int, list[Any]] = {}
    while encoded:
        data = Data()
        consumed = data.decode(encoded)
        encoded = encoded[consumed:]
        data.rewind()
        data.next()
        described = data.get_object()
        value = described.value
        if isinstance(value, memoryview):  # a view into `data`'s buffer: copy before `data` goes away
            value = bytes(value)
        sections.setdefault(int(described.descriptor), []).append(value)
    return sections


def _annotation(annotations: Any, name: str) -> str | None:
    for key, value in (annotations or {}).items():
        if str(key) == name:
            return str(value)
    return None


def _content_type(properties: Any) -> str | None:
    # properties is the message-properties list; content-type is field 6 (may be omitted when null).
    if isinstance(properties, list) and len(properties) > 6 and properties[6] is not None:
        return str(properties[6])
    return None
