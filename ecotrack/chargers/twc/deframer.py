"""Streaming deframer: bytes from the RS485 line in, messages (or the reason a frame was bad) out.

The line is noisy in practice: stray ``FE`` bytes after a frame, a slave powering up mid-frame,
collisions on the half-duplex bus. The deframer therefore

* ignores (and counts) bytes outside frames;
* treats ``C0 C0`` as "the end of one frame and the start of the next", and the ``C0`` that ends a
  *bad* frame as the opening of the next one, so a frame cut short costs only itself;
* drops a partial frame older than ``timeout_s`` (the sender stopped in the middle);
* caps a frame's length, so a missing closing ``C0`` cannot grow a buffer without bound;
* never raises, whatever it is fed: bad frames come back as :class:`~ecotrack.chargers.twc.codec.FrameError`
  values and are counted in :class:`DeframerStats`.

Time is a parameter (``now``), so the same code runs with a real or a scaled clock and in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecotrack.chargers.twc.codec import END, FrameError, Message, decode_frame

__all__ = ["MAX_ESCAPED_LEN", "Deframer", "DeframerStats"]

#: Longest escaped content between two C0 that could still be valid (20 bytes, each possibly escaped).
MAX_ESCAPED_LEN = 40


@dataclass(slots=True)
class DeframerStats:
    """Counters since the deframer was made (shown by ``twc sniff`` and in the driver's details)."""

    frames: int = 0
    bad_frames: int = 0
    bad_checksum: int = 0
    stray_bytes: int = 0
    timeouts: int = 0


class Deframer:
    """Turns a byte stream into decoded messages; see the module docstring."""

    def __init__(self, timeout_s: float = 2.0) -> None:
        self.timeout_s = timeout_s
        self.stats = DeframerStats()
        self._buf = bytearray()
        self._in_frame = False
        self._started_s = 0.0

    def feed(self, data: bytes, now: float) -> list[Message | FrameError]:
        """Process ``data`` received at clock time ``now``; return what completed, in order."""
        out: list[Message | FrameError] = []
        if self._in_frame and self._buf and now - self._started_s > self.timeout_s:
            self.stats.timeouts += 1
            out.append(
                FrameError(f"partial frame of {len(self._buf)} bytes dropped after {self.timeout_s:g} s")
            )
            self._buf.clear()
            self._in_frame = False
        for b in data:
            if b == END:
                if self._in_frame and self._buf:
                    result = self._finish(bytes(self._buf))
                    out.append(result)
                    self._buf.clear()
                    # After a bad frame this C0 was more likely the opening of the next frame (the
                    # broken one lost its end): stay in a frame, so the next good frame is not lost.
                    self._in_frame = isinstance(result, FrameError)
                    self._started_s = now
                else:
                    # An opening delimiter, or "C0 C0": the start of the next frame.
                    self._in_frame = True
                    self._started_s = now
                continue
            if not self._in_frame:
                self.stats.stray_bytes += 1
                continue
            self._buf.append(b)
            if len(self._buf) > MAX_ESCAPED_LEN:
                self.stats.bad_frames += 1
                out.append(FrameError(f"frame longer than {MAX_ESCAPED_LEN} bytes without a closing C0"))
                self.stats.stray_bytes += len(self._buf)
                self._buf.clear()
                self._in_frame = False
        return out

    def _finish(self, content: bytes) -> Message | FrameError:
        try:
            message = decode_frame(content)
        except FrameError as e:
            self.stats.bad_frames += 1
            if str(e).startswith("bad checksum"):
                self.stats.bad_checksum += 1
            return e
        except Exception as e:  # a codec bug must not take the reader down
            self.stats.bad_frames += 1
            return FrameError(f"undecodable frame ({type(e).__name__}: {e})")
        self.stats.frames += 1
        return message
