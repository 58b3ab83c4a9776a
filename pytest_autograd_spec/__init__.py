"""pytest plugin running the autograd conformance spec; the logic lives in ``conformance``."""
