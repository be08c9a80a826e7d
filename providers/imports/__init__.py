"""Imports of services, organisations, locations and taxonomies (reading, preparing, writing)."""
