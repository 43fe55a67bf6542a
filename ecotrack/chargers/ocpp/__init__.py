"""Chargers spoken to over OCPP 1.6J (``type: ocpp``), and our charge point simulator."""
