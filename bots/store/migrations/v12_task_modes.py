"""How a task works (issue 17): its mode (`council`: propose, vote, plan; `split`: divided
into parts done in parallel, then merged), whether it has a critique round (NULL: the config
decides), and the agents chosen to take part (NULL: the configured participants)."""

SQL = """
ALTER TABLE tasks ADD COLUMN mode TEXT NOT NULL DEFAULT 'council'
    CHECK (mode IN ('council', 'split'));
ALTER TABLE tasks ADD COLUMN critique INTEGER CHECK (critique IS NULL OR critique IN (0, 1));
ALTER TABLE tasks ADD COLUMN participants TEXT
    CHECK (participants IS NULL OR json_valid(participants));
"""
