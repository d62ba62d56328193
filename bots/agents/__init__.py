"""An LLM agent as a bot: when it speaks, what it sees, what it may spend, how it streams."""
