"""The coordinator's task workflow as pure logic: states and their moves, intake, plans,
votes, polls and every text the master reads. No I/O here (no Matrix, no store), so each
rule is tested as a table; `bots/coordinator/tasks/` drives them."""
