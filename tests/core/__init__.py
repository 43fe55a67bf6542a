"""Tests of the pure control core (ecotrack.core)."""
