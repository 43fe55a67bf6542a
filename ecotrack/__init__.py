"""ecotrack: a solar-surplus EV charging controller."""

__version__ = "0.1.0"
