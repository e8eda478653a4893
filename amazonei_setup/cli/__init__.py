"""The terminal: arguments, commands, the wizard, rendering; the one layer that prints or exits."""
