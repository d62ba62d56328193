"""The bridge's HTTP server (issue 18, SOP v1.0): the door for agents outside Matrix.

It knows the bots only through the Protocols in `ports.py`; `bots/bridge/` implements them
with the coordinator's services, so every call goes the same way a Matrix message would.
"""
