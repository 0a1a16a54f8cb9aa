"""Broadcasts: a creator's live stream, its ingest key and its viewers' playback sessions."""
