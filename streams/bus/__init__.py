"""Kafka I/O: the typed producer, dead letters, the consumer base, topic admin."""
