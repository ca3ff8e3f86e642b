"""What EventBridge's answers mean in the delivery taxonomy (``retrying.AttemptVerdict``).

A whole call that fails: throttling, 5xx and transport errors are retried; refused or missing
credentials are an auth failure; anything else (an unknown bus, a malformed request) is
permanent. A call that succeeds may still fail some entries (``FailedEntryCount`` > 0): each
failed entry carries ``ErrorCode``/``ErrorMessage``, and the same split applies per entry —
``ThrottlingException`` and ``InternalFailure`` are sent again, access errors are auth failures,
the rest (``MalformedDetail``, ``InvalidArgument`` ...) are permanent.
"""

from __future__ import annotations

from typing import Any

from shared.actions.models import FailureKind
from shared.actions.retrying import AttemptResult, AttemptVerdict

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
TRANSIENT_CODES = frozenset(
    {"InternalFailure", "InternalException", "ServiceUnavailable", "ServiceUnavailableException"}
)
AUTH_CODES = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "MissingAuthenticationToken",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
    }
)
_CREDENTIAL_ERRORS = frozenset({"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"})
CREDENTIALS_HINT = (
    "check the AWS credentials of the standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, "
    "web identity) and the IAM policy (events:PutEvents on the bus)"
)


def entry_failure(code: str) -> FailureKind | None:
    """The failure of one entry's ``ErrorCode``: ``None`` when sending it again may work."""
    if code in THROTTLING_CODES or code in TRANSIENT_CODES:
        return None
    return FailureKind.AUTH if code in AUTH_CODES else FailureKind.PERMANENT


def entry_reason(result: dict[str, Any]) -> str:
    code = result.get("ErrorCode") or "unknown"
    message = result.get("ErrorMessage")
    return f"EventBridge refused the entry: {code}" + (f": {message}" if message else "")


def classify_call_error(exc: Exception) -> AttemptResult:
    """A ``put_events`` call that raised (botocore's exceptions, read by name and by fields)."""
    name = type(exc).__name__
    if name in _CREDENTIAL_ERRORS:
        return AttemptResult(
            AttemptVerdict.CREDENTIALS, reason=f"no usable AWS credentials ({name}): {CREDENTIALS_HINT}"
        )
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return AttemptResult(AttemptVerdict.RETRY, reason=f"transport error ({name})")
    error = response.get("Error") or {}
    code = str(error.get("Code") or "unknown")
    status = int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
    reason = f"EventBridge answered {status or '?'} {code}" + (f": {error['Message']}" if error.get("Message") else "")
    if code in THROTTLING_CODES or status == 429:
        return AttemptResult(AttemptVerdict.RETRY, reason=reason, throttled=True)
    if code in TRANSIENT_CODES or status >= 500 or status == 408:
        return AttemptResult(AttemptVerdict.RETRY, reason=reason)
    if code in AUTH_CODES or status in (401, 403):
        return AttemptResult(AttemptVerdict.CREDENTIALS, reason=f"{reason}; {CREDENTIALS_HINT}")
    return AttemptResult(AttemptVerdict.PERMANENT, reason=reason)
