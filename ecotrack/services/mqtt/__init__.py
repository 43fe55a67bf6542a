"""The MQTT service: control topics in, status out, Home Assistant discovery.

Layout (one job per module):

* :mod:`.config` — the ``mqtt:`` section (:class:`~ecotrack.services.mqtt.config.MqttConfig`);
* :mod:`.commands` — pure codec from (topic, payload) to typed intents; :mod:`.control` applies them;
* :mod:`.status` — snapshot to retained topics with deadband and rate limit;
* :mod:`.discovery` — Home Assistant discovery, with cleanup of removed loadpoints;
* :mod:`.service` — ``attach_mqtt(engine, config, connection)``: wires all of the above into an engine.

The broker connection is :mod:`ecotrack.transport.mqtt`; MQTT meters live in :mod:`ecotrack.meters.mqtt`
and the Prism charger drivers in :mod:`ecotrack.chargers.prism`.
"""
