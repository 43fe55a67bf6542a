"""Fixtures of the meter tests."""

from .http_server import vendor_server

__all__ = ["vendor_server"]
