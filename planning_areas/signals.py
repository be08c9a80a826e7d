"""Signals other apps listen to, so that planning_areas needs to import none of them."""

from django.dispatch import Signal

# Sent with ``layer=`` after a write replaced the areas of a layer (an area import, a
# composed layer built or rebuilt): stored links to areas must be recomputed.
areas_changed = Signal()
