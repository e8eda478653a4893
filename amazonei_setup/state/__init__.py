"""The deployment's own state on this machine: the record, its ledger, the state home."""
