"""The cost reports (issue 14): assets in group `costs`, their own job and schedule."""
