"""A sandbox payment provider (like a provider's test mode), for development machines only."""
