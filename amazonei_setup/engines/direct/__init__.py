"""The direct engine: the plan applied call by call, and its teardown."""
