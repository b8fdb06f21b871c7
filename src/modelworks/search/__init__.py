"""Comparing candidate models within a time budget."""
