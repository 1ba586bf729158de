"""expkit-docker."""
