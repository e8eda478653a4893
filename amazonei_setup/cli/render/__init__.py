"""Tables and panels for the terminal, from plain data."""
