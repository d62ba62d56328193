"""Credit exhausted or just busy? Each vendor's wire shape of "the account has no money left".

Told apart from a rate limit or an outage because the answer differs: a rate limit passes in
seconds and is retried; spent credit does not come back until the master tops it up, so the
agent is benched instead of hammering the vendor. Pure, so each shape is one table row.

The shapes (as the vendors send them):
- any vendor: HTTP 402 Payment Required;
- OpenAI: 429 with `error.code` "insufficient_quota";
- Anthropic: `error.type` "billing_error" (402), and the 400 `invalid_request_error`
  "Your credit balance is too low to access the Anthropic API…";
- Gemini: 429 RESOURCE_EXHAUSTED whose `google.rpc.QuotaFailure` names a per-day quota
  (`quotaId` "GenerateRequestsPerDayPerProjectPerModel…") or whose message says the
  prepayment credits are depleted; a per-minute quota is a rate limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PAYMENT_REQUIRED = 402
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_ANTHROPIC_CREDIT = re.compile(r"credit balance is too low", re.IGNORECASE)
_GEMINI_BILLING = re.compile(r"credits are depleted|billing account|free tier.*exhausted", re.I)
_PER_DAY = re.compile(r"per[ _-]?day|daily", re.IGNORECASE)


def openai_out_of_credit(status: int, code: str | None) -> bool:
    return status == PAYMENT_REQUIRED or code == "insufficient_quota"


def anthropic_out_of_credit(status: int, error_type: str | None, message: str | None) -> bool:
    if status == PAYMENT_REQUIRED or error_type == "billing_error":
        return True
    return status == 400 and bool(message and _ANTHROPIC_CREDIT.search(message))


def gemini_out_of_credit(status: int, message: str | None, details: Any) -> bool:
    """A 429 counts only when what ran out does not come back within the minute."""
    if status == PAYMENT_REQUIRED:
        return True
    if status != 429:
        return False
    if message and _GEMINI_BILLING.search(message):
        return True
    return any(_PER_DAY.search(quota) for quota in _quota_ids(details))


def _quota_ids(details: Any) -> list[str]:
    """Every `quotaId` and `quotaMetric` of the QuotaFailure details in a Google error body."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    if not isinstance(items, list):
        return []
    found: list[str] = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("@type") != _QUOTA_FAILURE:
            continue
        for violation in item.get("violations") or []:
            if isinstance(violation, Mapping):
                found += [
                    str(violation[key]) for key in ("quotaId", "quotaMetric") if key in violation
                ]
    return found
