"""Reference adapters shipped with the package."""
