"""Godot's ConfigFile text (`project.godot`, `plugin.cfg`), read and edited as text.

`livekit-godot init` changes two keys of a user's `project.godot` and must leave every other
byte alone: comments, blank lines, section order, spacing and values it does not own. So the
file is not parsed into values and written back; it is split into entries (blank line,
comment, `[section]` header, `key=value`), each keeping its raw text, and only the entries
that change are rewritten. A value may span lines (Godot writes dictionaries over several
lines); it ends at the end of a line where every bracket is closed and no string is open.

Writing follows Godot's own layout (`ProjectSettings` saves sections in alphabetical order,
each as `[name]`, a blank line, its keys, a blank line), so a new section or key sits where
Godot itself would put it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ._errors import ProjectError

EntryKind = Literal["blank", "comment", "section", "value"]

_SECTION = re.compile(r"\s*\[([^\]\r\n]+)\]\s*(?:;.*)?(?:\r?\n)?")
_OPEN, _CLOSE = "([{", ")]}"
_STRING = r'"(?:[^"\\]|\\.)*"'
_STRING_ARRAY = re.compile(
    r"(?P<head>PackedStringArray\s*\(|\[)(?P<inner>.*)(?P<tail>\)|\])", re.DOTALL
)
_STRING_LIST = re.compile(rf"\s*(?:{_STRING}\s*(?:,\s*{_STRING}\s*)*,?\s*)?", re.DOTALL)


@dataclass
class Entry:
    """One piece of the file, with its raw text (line endings included)."""

    kind: EntryKind
    text: str
    line: int
    """Line number (1-based) where the entry starts."""
    section: str
    """The section it belongs to; "" before the first header. For a header, its own name."""
    key: str = ""
    value_start: int = 0
    """Offset in `text` where the value starts (after `=` and spaces); values only."""
    value_end: int = 0
    """Offset in `text` where the value ends (before a trailing comment and the newline)."""

    @property
    def value(self) -> str:
        """The value's raw text, as written."""
        return self.text[self.value_start : self.value_end]


def unquote(raw: str) -> str | None:
    """The text of a Godot string literal (`"..."`), or None when `raw` is not one."""
    raw = raw.strip()
    if not re.fullmatch(_STRING, raw, re.DOTALL):
        return None
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), raw[1:-1])


def quote(text: str) -> str:
    """`text` as a Godot string literal: backslashes and double quotes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ConfigText:
    """A ConfigFile's text split into entries; `render()` gives back the exact bytes."""

    def __init__(self, text: str, *, name: str = "project.godot") -> None:
        self.name = name
        self.bom = "\ufeff" if text.startswith("\ufeff") else ""
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.entries = _parse(text[len(self.bom) :], name)

    def render(self) -> str:
        return self.bom + self._body()

    def _body(self) -> str:
        return "".join(entry.text for entry in self.entries)

    def sections(self) -> list[str]:
        return [e.section for e in self.entries if e.kind == "section"]

    def get(self, section: str, key: str) -> Entry | None:
        """The entry of `key` in `section` (the last one, as Godot reads it), or None."""
        found = None
        for entry in self.entries:
            if entry.kind == "value" and entry.section == section and entry.key == key:
                found = entry
        return found

    def set_value(self, section: str, key: str, raw_value: str) -> None:
        """Write `key=raw_value` in `section`: in place if the key exists, else added."""
        entry = self.get(section, key)
        if entry is not None:
            entry.text = entry.text[: entry.value_start] + raw_value + entry.text[entry.value_end :]
            entry.value_end = entry.value_start + len(raw_value)
            return
        line = f"{key}={raw_value}"
        if section in self.sections():
            self._add_to_section(section, line)
        else:
            self._add_section(section, line)
        self.entries = _parse(self._body(), self.name)  # the new text as ordinary entries

    # --- where new text goes ------------------------------------------------------------

    def _insert(self, index: int, text: str, kind: EntryKind, section: str) -> None:
        if index > 0 and not self.entries[index - 1].text.endswith("\n"):
            self.entries[index - 1].text += self.newline  # the file ended without a newline
        self.entries.insert(index, Entry(kind=kind, text=text, line=0, section=section))

    def _add_to_section(self, section: str, line: str) -> None:
        """After the section's last key (or after its header and the blank line below it)."""
        nl = self.newline
        header = next(
            i for i, e in enumerate(self.entries) if e.kind == "section" and e.section == section
        )
        index = header + 1
        for i in range(header + 1, len(self.entries)):
            entry = self.entries[i]
            if entry.kind == "section":
                break
            if entry.kind == "value" or (i == header + 1 and entry.kind == "blank"):
                index = i + 1
        following = self.entries[index] if index < len(self.entries) else None
        text = line + nl
        if following is not None and following.kind == "section":
            text += nl  # keep a blank line before the next header
        self._insert(index, text, "value", section)

    def _add_section(self, section: str, line: str) -> None:
        """A new section before the first one that sorts after it (Godot's order), else last.

        Comments right above that header stay with it."""
        nl = self.newline
        index = len(self.entries)
        for i, entry in enumerate(self.entries):
            if entry.kind == "section" and entry.section > section:
                index = i
                while index > 0 and self.entries[index - 1].kind == "comment":
                    index -= 1
                break
        block = f"[{section}]{nl}{nl}{line}{nl}"
        before = self.entries[index - 1] if index > 0 else None
        if before is not None and before.kind != "blank":
            block = nl + block
        if index < len(self.entries):
            block += nl
        self._insert(index, block, "section", section)


def _parse(text: str, name: str) -> list[Entry]:
    entries: list[Entry] = []
    section = ""
    pos, line_no = 0, 1
    while pos < len(text):
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol + 1
        line = text[pos:eol]
        stripped = line.strip()
        if not stripped:
            entry = Entry("blank", line, line_no, section)
        elif stripped.startswith((";", "#")):
            entry = Entry("comment", line, line_no, section)
        elif stripped.startswith("["):
            match = _SECTION.fullmatch(line)
            if not match:
                raise ProjectError(f"{name}: line {line_no}: expected a [section] header")
            section = match[1].strip()
            entry = Entry("section", line, line_no, section)
        else:
            end = _value_entry_end(text, pos, name, line_no)
            entry = _value_entry(text[pos:end], line_no, section, name)
            eol = end
        entries.append(entry)
        line_no += text.count("\n", pos, eol)
        pos = eol
    return entries


def _value_entry(raw: str, line_no: int, section: str, name: str) -> Entry:
    match = re.match(rf"\s*({_STRING}|[^=\s]+)\s*=\s*", raw)
    if not match:
        raise ProjectError(f"{name}: line {line_no}: expected key=value")
    key = match[1]
    if key.startswith('"'):
        key = unquote(key) or ""
    end = _content_end(raw, match.end())
    return Entry("value", raw, line_no, section, key, match.end(), end)


def _value_entry_end(text: str, start: int, name: str, line_no: int) -> int:
    """Offset just past the newline that ends the `key=value` entry starting at `start`."""
    depth, i, n = 0, start, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                raise ProjectError(f"{name}: line {line_no}: a string is never closed")
        elif char == ";":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif char == "\n" and depth <= 0:
            return i + 1
        i += 1
    if depth > 0:
        raise ProjectError(f"{name}: line {line_no}: a bracket opened here is never closed")
    return n


def _content_end(raw: str, start: int) -> int:
    """Offset where the value in `raw` ends: before a trailing `; comment`, spaces, newline."""
    i, end = start, start
    while i < len(raw):
        char = raw[i]
        if char == '"':
            i += 1
            while i < len(raw) and raw[i] != '"':
                i += 2 if raw[i] == "\\" else 1
        elif char == ";":
            break
        if not raw[i : i + 1].isspace():
            end = i + 1
        i += 1
    return end


def string_array_with(raw: str, item: str, *, where: str) -> str | None:
    """`raw` (a `PackedStringArray(...)` or `[...]` of strings) with `item` appended.

    None when `item` is already there. The strings already there keep their exact spelling
    and spacing. Raises ProjectError (naming `where`) for any other kind of value.
    """
    match = _STRING_ARRAY.fullmatch(raw.strip())
    if not match or not _STRING_LIST.fullmatch(match["inner"]):
        raise ProjectError(f'{where}: expected PackedStringArray("...", ...), found {raw!r}')
    inner = match["inner"]
    strings = list(re.finditer(_STRING, inner, re.DOTALL))
    if item in (unquote(m[0]) for m in strings):
        return None
    if strings:
        cut = strings[-1].end()
        inner = inner[:cut] + ", " + quote(item) + inner[cut:]
    else:
        inner = quote(item)
    return match["head"] + inner + match["tail"]
