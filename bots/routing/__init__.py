"""From a `Message` to one handler: who is addressed, which command, who may run it.

Pure parsing and access rules (table-tested) plus the dispatcher that ties them together."""
