"""Northstar: ties the work of ML platform teams to business value."""
