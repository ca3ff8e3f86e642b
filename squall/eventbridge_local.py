"""A local Amazon EventBridge for demos and tests: moto's server on a free localhost port, over HTTP.

``LocalEventBridge`` starts ``moto.server.ThreadedMotoServer`` (moto is a development dependency:
``pip install -e '.[dev]'``), creates a bus, and routes every event on it to an SQS queue through a
rule, so ``received()`` can read back what Squall put there — exactly as a consumer on AWS would.
While it runs, the process's AWS credentials are throwaway values for moto (restored afterwards),
so no real credential is ever sent to it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections import Counter
from types import TracebackType
from typing import Any

from squall.stub.faults import FaultInjector, FaultRates

LOCAL_REGION = "us-east-1"
LOCAL_BUS = "squall-local"
LOCAL_SOURCE = "squall.local"
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-moto-key", "AWS_SECRET_ACCESS_KEY": "local-moto-fake"}
_CLEARED = ("AWS_SESSION_TOKEN", "AWS_PROFILE")


class MotoNotInstalled(RuntimeError):
    """moto (a development dependency) is not installed."""


def moto_available() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


class LocalEventBridge:
    """``with LocalEventBridge() as bus: bus.destination_spec()`` — moto's EventBridge + an SQS read-back."""

    def __init__(self, *, bus: str = LOCAL_BUS, source: str = LOCAL_SOURCE) -> None:
        self.bus = bus
        self.source = source
        self.endpoint_url = ""
        self._server: Any = None
        self._queue_url = ""
        self._sqs: Any = None
        self._saved: dict[str, str | None] = {}
        self._received: list[dict[str, Any]] = []

    def __enter__(self) -> LocalEventBridge:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise MotoNotInstalled("moto is not installed: pip install -e '.[dev]'") from exc
        self._saved = {name: os.environ.get(name) for name in (*_FAKE_CREDENTIALS, *_CLEARED)}
        os.environ.update(_FAKE_CREDENTIALS)
        for name in _CLEARED:
            os.environ.pop(name, None)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._wire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.stop()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session().client(service, region_name=LOCAL_REGION, endpoint_url=self.endpoint_url)

    def _wire(self) -> None:
        """The bus, a queue, and a rule sending every event of ``source`` on the bus to the queue."""
        events, self._sqs = self._client("events"), self._client("sqs")
        events.create_event_bus(Name=self.bus)
        self._queue_url = self._sqs.create_queue(QueueName=f"{self.bus}-received")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]
        pattern = json.dumps({"source": [self.source]})
        events.put_rule(Name=f"{self.bus}-to-queue", EventBusName=self.bus, EventPattern=pattern)
        events.put_targets(
            Rule=f"{self.bus}-to-queue", EventBusName=self.bus, Targets=[{"Id": "queue", "Arn": arn["QueueArn"]}]
        )

    def destination_spec(self) -> dict[str, Any]:
        """One destination of ``SQUALL_EVENTBRIDGE`` pointing at this bus."""
        return {
            "event_bus_name": self.bus,
            "source": self.source,
            "region": LOCAL_REGION,
            "endpoint_url": self.endpoint_url,
        }

    def received(self) -> list[dict[str, Any]]:
        """Every event that reached the bus so far (EventBridge's envelope: ``detail-type``, ``detail`` ...)."""
        while True:
            answer = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages") or []
            if not messages:
                return list(self._received)
            for message in messages:
                self._received.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

    def duplicates(self) -> int:
        """Events whose ``detail.idempotency_key`` arrived before (the same action put twice)."""
        counts = Counter(event.get("detail", {}).get("idempotency_key") for event in self.received())
        return sum(count - 1 for count in counts.values())


class FaultyEventsClient:
    """An ``events`` client whose calls to moto fail as EventBridge's can, at the stub's fault rates.

    A share of whole calls fails before reaching moto (``InternalException`` 500 for the error
    rate, ``ThrottlingException`` for the throttle rate), and of the calls that go through, each
    entry fails alone with ``InternalFailure`` at half the error rate (it is not sent: a partial
    ``FailedEntryCount`` answer). So ``squall demo --stub-error-rate ...`` exercises EventBridge's
    retries too; moto itself injects nothing.
    """

    def __init__(self, client: Any, rates: FaultRates, *, seed: int | None) -> None:
        self._client = client
        self._faults = FaultInjector(rates, seed=seed)
        self._entry_random = random.Random(None if seed is None else seed + 1)
        self._entry_rate = rates.error_rate / 2
        self._lock = threading.Lock()

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        from botocore.exceptions import ClientError

        with self._lock:
            fault = self._faults.next_fault("events")
            failing = {i for i in range(len(Entries)) if self._entry_random.random() < self._entry_rate}
        if fault is not None:
            code, status = ("ThrottlingException", 400) if fault.status == 429 else ("InternalException", fault.status)
            error = {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}}
            raise ClientError(error, "PutEvents")  # type: ignore[arg-type]
        sent = [entry for i, entry in enumerate(Entries) if i not in failing]
        answers = iter(self._client.put_events(Entries=sent)["Entries"] if sent else [])
        results = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if i in failing else next(answers)
            for i in range(len(Entries))
        ]
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}
