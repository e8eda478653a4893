"""CloudFormation: the deployment's plan as a template, and AWS's own engine to run it."""
