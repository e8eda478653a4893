"""The caller's least-privilege IAM policy for each engine."""
