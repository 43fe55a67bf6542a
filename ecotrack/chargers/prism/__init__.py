"""The Prism EVSE (Cartender / Silla Industries): drivers over MQTT and over ubus, and a simulator.

* :mod:`.state` — pure: what the Prism reports, and the staged step-down of the current limit;
* :mod:`.base` — what both drivers share (target current, pause via mode 3, stages, re-emission);
* :mod:`.mqtt` — the firmware's MQTT API (``<base>/<port>/...``, ``command/set_current_limit``);
* :mod:`.ubus` — ``ubus call evse.control ...`` for running on the Prism itself;
* :mod:`.simulator` — the Prism's MQTT side with a car model, for tests and the demo.
"""
