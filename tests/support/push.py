"""What the master's phone does with an event, by Synapse's own push-rule engine.

A push is decided twice: by the homeserver, on what it can read (in an encrypted room only
the type, the sender and `m.relates_to`), and, for an encrypted event, again by the phone's
app on the decrypted event (Element X and Element Web evaluate the same rules after
decrypting, and show nothing when they say so). The phone buzzes only when both notify.
Both runs here use Synapse's evaluator, with its default rules and the master's own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from synapse.push.bulk_push_rule_evaluator import _flatten_dict
from synapse.synapse_rust.push import (
    FilteredPushRules,
    PushRule,
    PushRuleEvaluator,
    PushRules,
)

# Synapse's priority classes of user-defined rules (synapse/push/rulekinds.py).
PRIORITY_CLASS = {"underride": 1, "sender": 2, "room": 3, "content": 4, "override": 5}

Actions = list[Any]


def ruleset(user_rules: Mapping[str, Sequence[Mapping[str, Any]]]) -> FilteredPushRules:
    """Synapse's default rules plus the user's own, given as `GET /pushrules/global/`
    returns them (kind → rules); the server's defaults in that answer are left out."""
    rules = [
        PushRule.from_db(
            f"global/{kind}/{rule['rule_id']}",
            PRIORITY_CLASS[kind],
            json.dumps(rule.get("conditions", [])),
            json.dumps(rule.get("actions", [])),
        )
        for kind, listed in user_rules.items()
        if kind in PRIORITY_CLASS
        for rule in listed
        if not rule.get("default") and rule.get("enabled", True)
    ]
    return FilteredPushRules(PushRules(rules), {}, False, True, False, False, False, False, False)


def actions_for(
    event: Mapping[str, Any],
    rules: FilteredPushRules,
    user_id: str,
    *,
    display_name: str | None = None,
    members: int = 5,
) -> Actions:
    """The actions `rules` give `user_id` for `event` (a whole event: type, sender,
    content), as Synapse computes them."""
    content = event.get("content")
    evaluator = PushRuleEvaluator(
        _flatten_dict(event),
        isinstance(content, dict) and "m.mentions" in content,
        members,
        0,
        {"room": 50},
        {},
        False,
        [],
        False,
        False,
        False,
    )
    return list(evaluator.run(rules, user_id, display_name, None))


def notifies(actions: Actions) -> bool:
    return "notify" in actions


def sound(actions: Actions) -> str | None:
    """The sound a notification plays (a buzz), or None for a silent one."""
    for action in actions:
        if isinstance(action, dict) and action.get("set_tweak") == "sound":
            return str(action.get("value"))
    return None


def as_server_sees(event: Mapping[str, Any], encrypted: bool) -> dict[str, Any]:
    """The event as the homeserver reads it: in an encrypted room, `m.room.encrypted` with
    only `m.relates_to` in the clear (what nio, like every client, leaves unencrypted)."""
    if not encrypted:
        return dict(event)
    content = event.get("content", {})
    clear: dict[str, Any] = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "…"}
    if "m.relates_to" in content:
        clear["m.relates_to"] = content["m.relates_to"]
    return {**event, "type": "m.room.encrypted", "content": clear}


def phone_buzzes(
    event: Mapping[str, Any], rules: FilteredPushRules, user_id: str, *, encrypted: bool
) -> Actions | None:
    """The actions the phone notifies with, or None when it shows nothing: the server must
    push the event, then the app must agree on the decrypted one."""
    pushed = actions_for(as_server_sees(event, encrypted), rules, user_id)
    if not notifies(pushed):
        return None
    shown = actions_for(event, rules, user_id) if encrypted else pushed
    return shown if notifies(shown) else None
