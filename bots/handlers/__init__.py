"""Command handlers. Each takes a `CommandRequest` and returns `Reply` values; none sends."""
