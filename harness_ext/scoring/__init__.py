"""Deterministic scoring rules: answer parsing, admission detection, refusal classification."""
