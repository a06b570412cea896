"""Screens of the dashboard app: one per file."""
