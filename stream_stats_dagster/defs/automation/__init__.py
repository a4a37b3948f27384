"""Schedules, automation conditions and sensors: how the graph runs itself."""
