"""The live audience's pure side: sample instants, the hour files the sampler writes, and a
day's `live_viewers` report and its checks (the sampler process is `stream_stats_dagster.live`)."""
