"""The reconcile timer: observe, plan (pure), act, on positive evidence only."""
