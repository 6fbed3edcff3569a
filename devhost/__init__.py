"""A local stand-in for the Functions runtime: `python -m devhost` runs function_app.py."""
