"""From a `Message` to one handler: who is addressed, which command, who may run it.

Pure parsing (`router`, `addressing`), access rules (`access`) and their verdict on a
command (`resolution`: run it or refuse, as values), all table-tested; the declared commands
(`commands`, with `shared_commands` every bot answers) and the dispatcher that ties them
together."""
