"""Live viewers (docs/live.md): the platform's live audience, sampled from its Redis.

Pure code, no Dagster: the Redis key layout (`keys`), instants in microseconds (`instants`),
the sample files (`samples`), the sampler's spool and uploads (`spool`, `upload`), the
sampler itself (`reader`, `sampler`), a day's report (`report`, `document`) and a simulator
of the platform (`simulator`). `defs/live/` wires the files and the report into Dagster.
"""
