"""Adapters and case files used by the plugin's own tests, never by the spec."""
