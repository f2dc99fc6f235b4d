"""Operator work run from the command line: migrations, backup and restore."""
