"""Writing a configuration for the user instead of asking them to edit YAML.

- :mod:`~ecotrack.importers.document` — a configuration as data plus a comment per key, rendered as YAML
- :mod:`~ecotrack.importers.jsonc` — JSON as people write it (comments, trailing commas), errors with file:line
- :mod:`~ecotrack.importers.twcmanager` (+ :mod:`~ecotrack.importers.twcmanager_sources`) — TWCManager's
  ``config.json``
- :mod:`~ecotrack.importers.seed` — the seed program ecotrack's command-line options
- :mod:`~ecotrack.importers.first_run` — ``ecotrack init``'s answers, and the look-arounds behind its questions

Each importer returns a :class:`~ecotrack.importers.document.Conversion`: the document and every setting it
could not carry over, with the reason. Checking the result is the caller's job (``ecotrack.config_load``),
so a conversion is checked exactly as ``ecotrack config check`` checks a file.
"""
