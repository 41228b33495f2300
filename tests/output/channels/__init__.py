"""Tests of atelier/output/channels: the marketplaces' image rules."""
