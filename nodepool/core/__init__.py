"""The shared core: the model, the records and their lifecycle, errors, the clock, the ports every
capability uses."""
