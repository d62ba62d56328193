"""The executor bot's own logic, apart from Matrix: request events, approvals, progress text.

Everything here is pure (no I/O), so the rules that decide whether a command runs are
tested as plain values; the runtime only feeds events in and sends what comes out.
"""
