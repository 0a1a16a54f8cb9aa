"""The synthetic canary: a probe crosses Kafka, a Faust agent, PostgreSQL and Redis."""
