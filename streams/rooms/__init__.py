"""Live rooms: the room directory, chat moderation, history for reconnects, presence, reactions."""
