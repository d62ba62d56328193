"""Voice on the bots' side (issue 20): hearing the master's voice messages, speaking back."""
