"""The live viewers (docs/live.md): assets in group `live`, their jobs, schedules and
freshness checks."""
