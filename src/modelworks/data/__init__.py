"""Loading, profiling and describing tables."""
