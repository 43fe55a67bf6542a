"""MQTT: one shared broker connection, meter sources, control topics, status out, Home Assistant discovery.

Layout (one job per module):

* :mod:`.config` — configuration models (the ``mqtt:`` section and the MQTT meter types);
* :mod:`.topics` and :mod:`.payloads` — pure helpers: topic-filter matching, number/JSON parsing;
* :mod:`.connection` — the one aiomqtt client: TLS, auth, reconnect with backoff, resubscribe,
  availability topic with a last will;
* :mod:`.sources` — meter sources (ecotrack monitor, emonhub, DSMR-reader, generic);
* :mod:`.commands` — pure codec from (topic, payload) to typed intents; :mod:`.control` applies them;
* :mod:`.status` — snapshot to retained topics with deadband and rate limit;
* :mod:`.discovery` — Home Assistant discovery, with cleanup of removed loadpoints;
* :mod:`.service` — ``attach_mqtt(engine, config, connection)``: wires all of the above into an engine.

The Prism charger drivers and simulator live in :mod:`ecotrack.chargers.prism`.
"""
