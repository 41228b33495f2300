"""Tests of atelier/cli: the command line end to end."""
