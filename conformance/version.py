"""Version numbers that reports and headers print.

The package version and the case-schema version move independently: a
schema change breaks case files written for the old one, a package release
need not.
"""

__version__ = "0.1.0"
SCHEMA_VERSION = "1.0"
