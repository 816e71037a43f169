"""The audio tick (`audio`, docs/bridge-protocol.md "Audio out"): the one hot message.

Its layout is fixed, so it is assembled from constant pieces instead of walking the generic
codec. The bytes are exactly what `encode_message(AudioTick(...))` (and Godot's
var_to_bytes) produce for the same arrays; tests/unit/test_protocol.py checks.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from .._errors import BridgeError
from ._constants import LIMITS
from ._variant import decode, encode
from ._variant_types import VariantType

_HEADER = struct.Struct("<II")
# Dictionary of 4 pairs, "t": "audio", then the "slots" key; its value follows.
_AUDIO_PREFIX = (
    _HEADER.pack(VariantType.DICTIONARY, 4) + encode("t") + encode("audio") + encode("slots")
)
_COUNTS_KEY = encode("counts")
_PCM_KEY = encode("pcm")
_I32 = int(VariantType.PACKED_INT32_ARRAY)  # plain ints: struct packs them fastest
_V2 = int(VariantType.PACKED_VECTOR2_ARRAY)


def audio_tick(
    slots: npt.NDArray[np.int32], counts: npt.NDArray[np.int32], pcm: npt.NDArray[np.float32]
) -> bytes:
    """One audio message: every slot's stereo frames back to back (see "Audio out")."""
    n = len(slots)
    if len(counts) != n or pcm.ndim != 2 or pcm.shape[1] != 2 or int(counts.sum()) != len(pcm):
        raise BridgeError("audio tick: counts do not add up to the stereo frames given")
    return b"".join(
        (
            _AUDIO_PREFIX,
            _HEADER.pack(_I32, n),
            slots.astype("<i4", copy=False).tobytes(),
            _COUNTS_KEY,
            _HEADER.pack(_I32, n),
            counts.astype("<i4", copy=False).tobytes(),
            _PCM_KEY,
            _HEADER.pack(_V2, len(pcm)),
            pcm.astype("<f4", copy=False).tobytes(),
        )
    )


def read_audio_tick(
    message: bytes,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Parse an audio tick back into (slots, counts, pcm) views; `BridgeError` if malformed.

    The receiving side of the fixed layout (what Godot's `bytes_to_var` does natively);
    used by tests and benchmarks. Anything unexpected falls back to the generic decoder.
    """
    try:
        if not message.startswith(_AUDIO_PREFIX):
            raise ValueError
        at = len(_AUDIO_PREFIX)
        arrays = []
        for key, kind, width in ((b"", _I32, 1), (_COUNTS_KEY, _I32, 1), (_PCM_KEY, _V2, 2)):
            if message[at : at + len(key)] != key:
                raise ValueError
            at += len(key)
            type_id, count = _HEADER.unpack_from(message, at)
            at += 8
            size = count * 4 * width
            if type_id != kind or at + size > len(message):
                raise ValueError
            dtype = "<f4" if width == 2 else "<i4"
            arrays.append(np.frombuffer(message, dtype=dtype, count=count * width, offset=at))
            at += size
        if at != len(message):
            raise ValueError
        slots, counts, flat = arrays
        return slots, counts, flat.reshape(-1, 2)
    except (ValueError, struct.error):
        tick = decode(message, limits=LIMITS)
        if not isinstance(tick, dict) or tick.get("t") != "audio":
            raise BridgeError("not an audio tick") from None
        return tick["slots"], tick["counts"], tick["pcm"]
