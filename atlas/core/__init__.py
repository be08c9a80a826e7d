"""Shared infrastructure below the domain apps: nothing here imports planning_areas or providers."""
