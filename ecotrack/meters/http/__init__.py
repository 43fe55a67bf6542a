"""Meters read over HTTP: one module per vendor API plus a generic URL source.

Configuration models are in :mod:`ecotrack.meters.http.config` (light); the sources import httpx.
"""
