"""Vehicles: what a car says about itself (state of charge, charge limit, plugged in, at home).

A vehicle source knows one car bridge (TeslaMate, a generic MQTT bridge, the Tesla Fleet API) and
nothing about policy; it keeps a :class:`~ecotrack.vehicles.model.VehicleState` up to date. The
:class:`~ecotrack.vehicles.garage.Garage` knows which car is on which loadpoint and hands the
engine the facts of that car, so the rules can plan by state of charge.
"""
