"""Cut the LLM's streamed text into pieces to speak, as soon as each is whole.

A piece ends at . ! ? … (followed by a space or the end) or a line break; the
first piece may also end at a clause mark (, ; : —) once it is long enough, so
the first audio starts early; a run-on piece is cut at a clause mark past
``MAX_CHARS``. Abbreviations and initials ("e.g.", "Dr.", "т.е.", "J.") do not
end a sentence.
"""

from __future__ import annotations

import re

FIRST_CLAUSE_CHARS = 40
MAX_CHARS = 160
_END = re.compile(r"[.!?…]+[\"'»)\]]*(?=\s)|\n+")
_CLAUSE = re.compile(r"[,;:—–](?=\s)")
_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "vs",
        "etc",
        "no",
        "т.е",
        "т.д",
        "т.п",
        "г",
        "ул",
        "им",
        "др",
        "см",
    }
)


def _is_abbreviation(text: str, end: int) -> bool:
    if text[end] != ".":
        return False
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:end].lower().lstrip("(\"'«")
    return (len(word) == 1 and word.isalpha()) or word in _ABBREVIATIONS


class SentenceSplitter:
    def __init__(self) -> None:
        self._buffer = ""
        self._emitted = 0

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        pieces: list[str] = []
        while True:
            piece = self._cut()
            if piece is None:
                return pieces
            if piece:
                pieces.append(piece)
                self._emitted += 1

    def flush(self) -> str | None:
        piece, self._buffer = self._buffer.strip(), ""
        return piece or None

    def _cut(self) -> str | None:
        text = self._buffer
        for match in _END.finditer(text):
            if match.group().startswith(".") and _is_abbreviation(text, match.start()):
                continue
            return self._take(match.end())
        limit = FIRST_CLAUSE_CHARS if self._emitted == 0 else MAX_CHARS
        if len(text) >= limit:
            clauses = [m.end() for m in _CLAUSE.finditer(text) if m.end() >= limit // 2]
            if clauses:
                return self._take(clauses[-1] if self._emitted else clauses[0])
        return None

    def _take(self, end: int) -> str:
        piece, self._buffer = self._buffer[:end].strip(), self._buffer[end:]
        return piece
