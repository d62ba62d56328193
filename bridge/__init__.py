"""Everything outside Matrix that Chavion brings in: LLM providers and the HTTP bridge.

Never imports nio: bots talk to Matrix, the bridge talks to the rest of the world.
"""
