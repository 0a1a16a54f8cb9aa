"""Every event, as its envelope and raw JSON, into ClickHouse ``event_log`` (one row per event id)."""
