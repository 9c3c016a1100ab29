"""Which packets of a video need no decoding when only some frames are sampled.

In: the first video stream of an open container and the sampling step (every how many
frames one is taken, ``needle.media.video.frame_step``); then each packet in decode order
and each frame the decoder gives. Out: the packets to decode, each frame's number, and at the
end the number of frames in all, as the vPDQ reference counts them (the decoder's output,
every frame decoded); or ``Irregular`` as soon as that count cannot be vouched for, and the
caller decodes every frame instead.

Why: with one frame hashed a second, the decoder spends most of its time on frames that are
never hashed. Two kinds need not be decoded, as no sampled frame can depend on them:

- a picture no other picture refers to (H.264 ``nal_ref_idc`` 0; H.265 sub-layer
  non-reference types), when it is not sampled: about half the frames of a default libx264
  or libx265 encoding (its B-frames that are not references);
- every picture after the last sampled one, in decode order, before the next IDR picture
  (which no later picture looks past): the end of each group of pictures, up to a second
  of each with one frame sampled a second, and whole groups when frames are sampled
  further apart than the groups are long.

Only their numbers must still be known; the reference numbers frames in the decoder's output
order, which presentation times give (``SkipPlan``). Only length-prefixed NAL units (MP4,
MOV, Matroska: ``avcC`` and ``hvcC`` records) are read; other codecs and containers decode
every frame, as before.

Assumed, not checked: that a skipped packet would have decoded to one frame, output at its
presentation time, as every decoded packet is checked to do. A damaged packet that the
decoder would have dropped without a frame would shift the count; packets the demuxer flags
as damaged are therefore always decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from av.packet import Packet
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

__all__ = ["Irregular", "Picture", "SkipPlan", "picture_of"]

#: H.264 NAL unit types (ITU-T H.264 table 7-1) a skippable packet may hold beside its
#: slices: SEI, access unit delimiter, filler. Any other (parameter sets, partitioned slices,
#: end of sequence or stream, extensions) has the packet decoded.
_AVC_EXTRAS = frozenset({6, 9, 12})
_AVC_IDR = 5
#: H.265 (table 7-1) sub-layer non-reference pictures: TRAIL_N, TSA_N, STSA_N. RADL and RASL
#: pictures are always decoded, as the decoder itself drops some RASL ones.
_HEVC_NON_REFERENCE = frozenset({0, 2, 4})
_HEVC_IDR = frozenset({19, 20})  # IDR_W_RADL, IDR_N_LP (a CRA's RASL pictures look past it)
_HEVC_EXTRAS = frozenset({35, 38, 39, 40})  # access unit delimiter, filler, SEI prefix, suffix
#: a packet's number is its presentation time in frame durations from frame 0's; further
#: than this from a whole number, the times are not regular, and every frame is decoded
_GRID_SLACK = 0.25
#: packets held back (the end of a group of pictures may be skipped) at most, in count and
#: bytes; past either, they are decoded, which is always correct
_HOLD_PACKETS = 1024
_HOLD_BYTES = 64 << 20


class Irregular(Exception):
    """The skip plan's check failed: the video is decoded again, every frame."""


class Picture(NamedTuple):
    """What a packet's NAL unit headers say about its picture."""

    non_reference: bool  #: no other picture refers to it
    idr: bool  #: an IDR picture: no picture after it refers to one before it
    plain: bool  #: only slices, SEI, delimiters and filler: nothing later decoding reads


#: what a malformed or damaged packet is taken for: decoded, holding back nothing
_DAMAGED = Picture(non_reference=False, idr=False, plain=False)


def picture_of(data: memoryview, codec: str, length_size: int, top_layer: int) -> Picture:
    """The headers of the access unit ``data`` (NAL units each prefixed by its length, as MP4
    and Matroska store them). Non-reference: every slice H.264 ``nal_ref_idc`` 0 and not IDR,
    or H.265 a sub-layer non-reference type in the top temporal layer (so no higher layer
    reads it either). A malformed packet is neither, and not plain."""
    pos, slices, references, idrs, plain = 0, 0, 0, 0, True
    while pos < len(data):
        size = int.from_bytes(data[pos : pos + length_size])
        pos += length_size
        if size < 2 or pos + size > len(data) or data[pos] & 0x80:  # forbidden_zero_bit
            return _DAMAGED
        head, second = data[pos], data[pos + 1]
        if codec == "h264":
            kind = head & 0x1F
            is_slice, idr = kind in (1, _AVC_IDR), kind == _AVC_IDR
            reference = bool(head & 0x60) or idr
            plain = plain and (is_slice or kind in _AVC_EXTRAS)
        else:
            kind = head >> 1 & 0x3F
            is_slice, idr = kind < 32, kind in _HEVC_IDR
            reference = kind not in _HEVC_NON_REFERENCE or (second & 7) - 1 != top_layer
            plain = plain and (is_slice or kind in _HEVC_EXTRAS) and not (head & 1 or second >> 3)
        slices += is_slice
        references += is_slice and reference
        idrs += idr
        pos += size
    return Picture(
        slices > 0 and references == 0, slices > 0 and idrs == slices, plain and slices > 0
    )


class SkipPlan:
    """Which packets need not be decoded, and the frame number each packet stands for.

    The reference numbers frames in the decoder's output order, which is presentation order.
    Where presentation times are regular (frame ``n`` at ``origin + n`` frame durations of
    the stream's base rate), a packet's number is known from its time before it is decoded.
    Nothing is skipped before the decoder gives its first frame, which is frame 0 and sets
    the origin. Then a packet that is not sampled and is plain (``picture_of``) is skipped
    at once if non-reference; a plain reference picture is held back until a sampled one
    comes (then the held ones are decoded, in order) or an IDR picture (then they are
    skipped: nothing sampled refers to them); anything else is decoded, with what is held.

    Checked as it goes, else ``Irregular`` (and the caller decodes every frame again): each
    packet's time is on the grid and its number not seen before; the decoder gives each
    decoded packet's frame once, in number order, and every number it passes over is a
    skipped packet's; at the end no decoded frame is missing and the skipped numbers left
    follow the last frame given. So when a frame comes out, every smaller number belongs to
    one earlier packet, and its number is the reference's count, given only what every
    decoded packet showed: a packet is one frame, output at its presentation time.
    """

    def __init__(self, codec: str, length_size: int, top_layer: int, rate: float, step: int):
        self._codec, self._length, self._top = codec, length_size, top_layer
        self._rate = rate  # frames per unit of the stream's time base
        self._step = step
        self._origin: int | None = None
        self._early: list[int] = []  # times of the packets sent before the first frame
        self._held: list[tuple[int, Packet]] = []  # reference pictures, in decode order
        self._held_bytes = 0
        self._claimed: set[int] = set()  # numbers of packets held, decoded or skipped
        self._pending: set[int] = set()  # numbers of decoded packets whose frame is due
        self._skipped: set[int] = set()  # numbers of skipped packets not yet passed
        self._next = 0  # the smallest number not yet given or passed
        self.highest = -1  #: the highest number seen

    @classmethod
    def of(cls, stream: VideoStream, kind: str, step: int) -> SkipPlan | None:
        """A plan for H.264/H.265 in MP4 or Matroska (length-prefixed NAL units, as the
        ``avcC``/``hvcC`` record says) when frames are sampled (``step`` > 1); else None."""
        context, rate = stream.codec_context, stream.base_rate
        extra = bytes(context.extradata or b"")
        if step == 1 or kind not in ("mp4", "matroska") or not rate or not stream.time_base:
            return None
        if context.name == "h264" and len(extra) >= 7 and extra[0] == 1:
            length, top = (extra[4] & 3) + 1, 0
        elif context.name == "hevc" and len(extra) >= 23 and extra[0] == 1:
            length, top = (extra[21] & 3) + 1, (extra[21] >> 3 & 7) - 1  # -1: layers unknown
        else:
            return None
        if length == 3 or top < 0:
            return None
        return cls(context.name, length, top, float(rate * stream.time_base), step)

    def _number(self, pts: int) -> int:
        ticks = (pts - (self._origin or 0)) * self._rate
        number = round(ticks)
        if abs(ticks - number) > _GRID_SLACK:
            raise Irregular
        return number

    def feed(self, packet: Packet) -> list[Packet]:
        """The packets to decode now, in decode order, ``packet`` read next (or held, or
        skipped). Edit-list cuts (``is_discard``), which no decoder outputs, are decoded
        and not counted; the empty packet at the end flushes the decoder."""
        if not packet.size:
            self._skip_held()
            return [packet]
        if packet.is_discard:
            return [*self._release(), packet]
        if packet.pts is None:
            raise Irregular
        if self._origin is None:
            self._early.append(packet.pts)
            return [packet]
        number = self._number(packet.pts)
        if number < self._next or number in self._claimed:
            raise Irregular
        self._claimed.add(number)
        self.highest = max(self.highest, number)
        picture = (  # a packet the demuxer flags as damaged is decoded, whatever it says
            _DAMAGED
            if packet.is_corrupt
            else picture_of(memoryview(packet), self._codec, self._length, self._top)
        )
        if picture.idr:
            self._skip_held()
        if number % self._step and picture.plain and picture.non_reference:
            self._skipped.add(number)
            return []
        if number % self._step and picture.plain:
            self._held.append((number, packet))
            self._held_bytes += packet.size
            full = len(self._held) > _HOLD_PACKETS or self._held_bytes > _HOLD_BYTES
            return self._release() if full else []
        self._pending.add(number)
        return [*self._release(), packet]

    def _release(self) -> list[Packet]:
        """The held packets, to be decoded."""
        held, self._held, self._held_bytes = self._held, [], 0
        self._pending.update(number for number, _ in held)
        return [packet for _, packet in held]

    def _skip_held(self) -> None:
        """The held packets skipped: a picture after them starts afresh, or none follows."""
        self._skipped.update(number for number, _ in self._held)
        self._held, self._held_bytes = [], 0

    def output(self, frame: VideoFrame) -> int:
        """The number of the decoder's next frame; ``Irregular`` unless it is the one due."""
        if frame.pts is None:
            raise Irregular
        if self._origin is None:
            self._origin = frame.pts
            early = [self._number(pts) for pts in self._early]
            self._pending.update(n for n in early if n >= 0)  # earlier ones are never output
            self._claimed.update(self._pending)
            if len(self._pending) != sum(n >= 0 for n in early):
                raise Irregular
        number = self._number(frame.pts)
        while self._next < number and self._next in self._skipped:
            self._skipped.remove(self._next)
            self._claimed.discard(self._next)
            self._next += 1
        if number != self._next or number not in self._pending:
            raise Irregular
        self._pending.remove(number)
        self._claimed.discard(number)
        self._next += 1
        return number

    def finish(self) -> int:
        """Frames counted in all; ``Irregular`` unless every packet was accounted for."""
        rest = sorted(self._skipped)
        if self._held or self._pending or rest != list(range(self._next, self._next + len(rest))):
            raise Irregular
        return self._next + len(rest)
