"""envkernels' version: a leaf module, so any layer can name the version without importing the package's
``__init__`` (which reaches up to the front ends)."""

__version__ = "0.1.0"
