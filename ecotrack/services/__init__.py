"""Services around the engine: the web dashboard and API, MQTT status and control, the history store.

Each takes its own configuration section and the engine's public surface; none imports a driver."""
