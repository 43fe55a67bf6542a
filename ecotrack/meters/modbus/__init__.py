"""Meters read over Modbus (TCP or RTU): Kostal Plenticore/Piko, generic SunSpec, SolarEdge.

Configuration models are in :mod:`ecotrack.meters.modbus.config` (light); the sources import pymodbus.
"""
