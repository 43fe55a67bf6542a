"""DSMR P1 smart meters (Dutch/Belgian/Luxembourg): telegram codec and the serial source.

:mod:`.telegram` is pure (framing, CRC16, OBIS parsing); :mod:`.source` owns the serial port.
"""
