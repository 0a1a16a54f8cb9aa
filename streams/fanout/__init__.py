"""Fan-out: events that rooms and users see, emitted to every gateway node through Redis."""
