"""The executor bot in one place.

Pure cores: `requests` (the request and result events), `approvals` (the one state machine),
`progress` (what is said). Around them: `ledger` (the machine's moves saved in the audit
store), `lifecycle` (request → decision → approval → run → result), `commands` (the declared
commands), `sweeper` (what a restart left, expiry), `outbox` (sending), and `service`, which
plugs them into a Dispatcher.
"""
