"""Function triggers: one blueprint per file, each trigger parse -> service -> response."""
