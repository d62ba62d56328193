"""The coordinator bot: council-wide commands and presence; the task workflow lives here."""
