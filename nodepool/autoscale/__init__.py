"""The autoscale timer: pools, pending pods, bin packing, capacity errors and scale-down."""
