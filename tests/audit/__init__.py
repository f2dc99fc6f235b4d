"""Tests of the audit log: what is written and the admin page that lists it."""
