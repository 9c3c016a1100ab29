"""JSON bank files: load the whole document, and find the line a record starts on.

In: the bytes of a JSON file. Out: the parsed document, or ``BankFormatError`` naming the
line and column where the JSON breaks. ``RecordLines`` answers "on which line does
``value[3].Media[1]`` start?" for problem reports: the C parser keeps no positions, so the
first question re-parses the text once with the pure-Python scanner, recording where every
object starts; a clean file never pays for it.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
from collections.abc import Callable, Sequence
from typing import Any

from needle.errors import BankFormatError

__all__ = ["RecordLines", "json_scalar", "load_json"]


def load_json(data: bytes, what: str) -> tuple[str, Any]:
    """(text, parsed document) of ``data``; ``what`` names the format in error messages."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BankFormatError(
            f"not a {what} file: not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise BankFormatError(
            f"not a {what} file: invalid JSON at line {exc.lineno} column {exc.colno} "
            f"({exc.msg}); check that the file is complete and is a {what} export"
        ) from None
    except RecursionError:
        raise BankFormatError(f"not a {what} file: JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts (4300)
        raise BankFormatError(f"not a {what} file: {exc}") from None


def json_scalar(value: Any) -> str:
    """A JSON value as a meta string: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class _PositionDecoder(json.JSONDecoder):
    """A decoder that records, for every list it builds, the offsets its elements start at."""

    def __init__(self, element_starts: dict[int, list[int]]) -> None:
        super().__init__()
        # the pure-Python parser pieces; typeshed does not list them
        parse: Callable[..., tuple[list[Any], int]] = getattr(json.decoder, "JSONArray")  # noqa: B009
        make_scanner: Callable[[Any], Any] = getattr(json.scanner, "py_make_scanner")  # noqa: B009

        def parse_array(
            s_and_end: tuple[str, int], scan_once: Callable[[str, int], Any], *rest: Any
        ) -> tuple[list[Any], int]:
            offsets: list[int] = []

            def scan(text: str, index: int) -> Any:
                offsets.append(index)
                return scan_once(text, index)

            array, end = parse(s_and_end, scan, *rest)
            element_starts[id(array)] = offsets
            return array, end

        self.parse_array = parse_array
        self.scan_once = make_scanner(self)


class RecordLines:
    """1-based start lines of the records (list elements) in a JSON text, found on first use.

    0 when the line cannot be found: the pure-Python scanner needs several stack frames per
    level of nesting where the C parser needs one, so a document the C parser read can be
    too deeply nested for it.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._tree: Any = None
        self._starts: dict[int, list[int]] = {}
        self._newlines: list[int] | None = None
        self._unknown = False

    def line(self, path: Sequence[str | int]) -> int:
        """Line on which the list element at ``path`` (keys and indexes from the root) starts.

        The last step of ``path`` must be an index into a list.
        """
        if self._newlines is None:
            self._newlines = [i for i, char in enumerate(self._text) if char == "\n"]
            try:
                self._tree = _PositionDecoder(self._starts).decode(self._text)
            except RecursionError:
                self._unknown = True
        if self._unknown:
            return 0
        *parents, index = path
        node = self._tree
        for step in parents:
            node = node[step]
        offset = self._starts[id(node)][int(index)]
        return bisect.bisect_left(self._newlines, offset) + 1
