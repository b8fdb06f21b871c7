"""Metrics, significance and curves for comparing and judging models."""
