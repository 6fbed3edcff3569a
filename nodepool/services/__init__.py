"""Use cases. They talk only to ports and take `now` from the caller."""
