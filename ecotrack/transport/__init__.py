"""Transports shared by drivers and services (one MQTT connection per process)."""
