"""From a plan to AWS resources and back: the graph executor, discovery, the plan, the engines."""
