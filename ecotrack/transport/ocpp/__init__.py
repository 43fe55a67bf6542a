"""OCPP 1.6J central system: the websocket listener, one session per charge point, pure frame and value parsers.

Chargers of ``type: ocpp`` (:mod:`ecotrack.chargers.ocpp`) attach to the one :class:`CentralSystem` of
a daemon by charge point id and connector; only :mod:`ecotrack.app` builds it (from the ``ocpp:``
section) and runs it as a service.
"""
