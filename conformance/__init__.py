"""Engine-independent core of pytest-autograd-spec.

Everything here works without pytest: load and validate case files, compile
their steps, run them on a backend adapter, and compare what was observed
with what the case expects.
"""

from conformance.version import SCHEMA_VERSION, __version__

__all__ = ["SCHEMA_VERSION", "__version__"]
