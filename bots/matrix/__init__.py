"""The Matrix edge: the only code that imports nio. Events become `Message` values here and
`Reply` values become events; nothing else in Chavion sees a nio type.

- `client`: `MatrixBot`, the nio side: sync loop, invites, sending, presence marks.
- `convert`: event → `Message` / `RoomEvent`, `Reply` → content; pure, tested offline.
- `history`: each room's recent conversation, for agents' context, and the read-back.
- `presence`: a bot's `org.chavion.bot` mark, both ways.
- `event_size`: what an event's content weighs, and making a reply fit in one.
- `room_versions`: who holds power in a room, by room version (no nio).
"""
