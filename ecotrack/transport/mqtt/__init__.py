"""The one MQTT connection of the process: configuration, topic helpers, payload parsing, the client."""
