"""Pure text work for what bots say: splitting into events, markdown to Element-safe HTML,
durations for people."""
