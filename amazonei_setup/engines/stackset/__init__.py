"""StackSets: one deployment across accounts and regions, carried by CloudFormation."""
