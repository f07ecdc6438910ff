"""Inspection: what an environment holds and declares, read from its files, and the check."""
