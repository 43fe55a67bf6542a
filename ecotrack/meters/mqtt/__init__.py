"""Meters fed by MQTT messages: the ecotrack monitor, emonhub, DSMR-reader and a generic one."""
