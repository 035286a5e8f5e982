"""The one source of truth for the version and release date of the book and of ce_lib."""

__version__ = "0.3.0"
release_date = "2026-12-04"
