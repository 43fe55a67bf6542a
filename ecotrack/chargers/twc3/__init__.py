"""Tesla Wall Connector Gen3: read over its local HTTP API (it accepts no commands there)."""
