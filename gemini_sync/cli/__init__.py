"""The ``gemini-sync`` command line (:func:`main`); importing this package loads nothing else."""

from .main import main

__all__ = ["main"]
