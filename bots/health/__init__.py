"""Health watch, disk trend and daily digest (issue 19): the master hears of changes only."""
