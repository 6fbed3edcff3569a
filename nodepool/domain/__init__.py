"""Pure domain: no I/O, no clocks (`now` is passed in), no azure imports."""
