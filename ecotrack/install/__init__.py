"""Installing ecotrack on a machine: the systemd unit and the steps that set it up (``ecotrack service``).

Nothing here imports the rest of ecotrack: the unit's text and the install steps are plain data, so the
command line can print them (``--dry-run``) exactly as it would carry them out.
"""
