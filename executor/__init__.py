"""Runs approved shell commands on hosts over SSH, under a command policy.

Knows nothing of Matrix or of Chavion's store: callers hand it plain values and get plain
values back, so it can be tested and reused on its own.
"""
