"""A node that goes: its scheduled events (or its leave), the cordon, and the one drain per event."""
