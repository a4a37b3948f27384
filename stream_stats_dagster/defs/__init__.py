"""Dagster definitions by domain: raw, daily, rolling, weekly, costs, live, automation."""

import warnings

import dagster as dg

# backfill_policy, pools and nonexistent-partition mappings are beta/preview in 1.13;
# the warnings repeat on every load and say nothing an operator can act on.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
