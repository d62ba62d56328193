"""Reading the `bridge` section (issue 18): the HTTP door for agents outside Matrix.

Apart from the rest of the loading because it is read after the bots and agents: an external
agent's name and account must not clash with theirs (the store's tokens, the room's senders
and `!assign` find an agent by its name), and each problem names its dotted key.
"""

from __future__ import annotations

from collections.abc import Mapping

from bots.settings.model import AccountSettings, BridgeAgentSettings, BridgeSettings
from bots.settings.reader import Node

_LOCALPART_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._=-/")
# (key, lowest, highest): a body of at least 1 KiB (a task with a description), at most 16 MiB.
_LIMITS = (
    ("max_body_bytes", 1024, 16 * 1024 * 1024),
    ("rate_per_minute", 1, 100_000),
    ("burst", 1, 100_000),
)


def parse_bridge(
    node: Node, *, names: Mapping[str, str], localparts: Mapping[str, str]
) -> BridgeSettings:
    """The `bridge` section; `names` and `localparts` are those already taken, each with the
    key that took it (the bots', the agents', the master's)."""
    defaults = BridgeSettings()
    listen = node.child("listen")
    host = listen.get("host", str, defaults.host)
    port = listen.get("port", int, defaults.port)
    if not host.strip():
        raise listen.error("host", "must name an address to listen on (127.0.0.1 by default)")
    if not 0 < port < 65536:
        raise listen.error("port", f"{port} is not a TCP port (1-65535)")
    listen.reject_unknown()
    limits = {key: node.get(key, int, getattr(defaults, key)) for key, _, _ in _LIMITS}
    for key, lowest, highest in _LIMITS:
        if not lowest <= limits[key] <= highest:
            raise node.error(key, f"must be between {lowest} and {highest}")
    taken_names = dict(names)
    taken_localparts = dict(localparts)
    agents = []
    for index, child in enumerate(node.children("agents")):
        agent = _agent(child)
        where = f"{node.key('agents')}[{index}]"
        for key, value, table in (
            ("name", agent.name, taken_names),
            ("account.localpart", agent.account.localpart, taken_localparts),
        ):
            if value in table:
                raise child.error(key, f"{value!r} is already used by {table[value]}")
        taken_names[agent.name] = f"{where}.name"
        taken_localparts[agent.account.localpart] = f"{where}.account.localpart"
        agents.append(agent)
    public_url = node.get("public_url", str, "").strip() or None
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise node.error(
            "public_url",
            f"{public_url!r} must be an http:// or https:// address "
            "(where the master's browser reaches the dashboard)",
        )
    settings = BridgeSettings(
        enabled=node.get("enabled", bool, defaults.enabled),
        public_url=public_url,
        host=host,
        port=port,
        agents=tuple(agents),
        **limits,
    )
    node.reject_unknown()
    return settings


def _agent(node: Node) -> BridgeAgentSettings:
    name = node.require("name", str)
    if not name.isidentifier():
        raise node.error("name", f"{name!r} must be a single word (letters, digits, _)")
    account = node.child("account")
    localpart = account.get("localpart", str, name.lower())
    if not localpart or not set(localpart) <= _LOCALPART_CHARS:
        raise account.error(
            "localpart", f"{localpart!r} is not a valid Matrix localpart (use a-z, 0-9, ._=-/)"
        )
    display = account.get("display_name", str, name.capitalize())
    if not display.strip():
        raise account.error("display_name", "must not be empty")
    account.reject_unknown()
    role = node.get("role", str, "thinking")
    node.reject_unknown()
    return BridgeAgentSettings(
        AccountSettings(name=name, kind="agent", localpart=localpart, display_name=display),
        role=role,
    )
