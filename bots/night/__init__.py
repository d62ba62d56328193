"""The night envelope (issue 19): what the master grants before he sleeps, what it covers,
how quiet the bots are inside it, and the morning report after it."""
