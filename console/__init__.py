"""The operator's console: `tasks.py status` (and the demo's live view) over the app's HTTP API."""
