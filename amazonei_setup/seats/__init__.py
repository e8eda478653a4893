"""What runs on an instance and comes back: user data, shell access, handouts, agent reports."""
