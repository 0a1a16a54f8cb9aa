"""Finance orchestration: Dagster assets, checks, schedule and sensor for creator payouts."""
