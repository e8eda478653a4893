"""Talking to AWS: clients, ARNs, bounded waits, read-only facts (AMIs, subnets, quotas)."""
