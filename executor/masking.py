"""Hides secrets in text before it leaves the executor (output, commands, error messages).

Configured secrets are replaced literally, also JSON-escaped, URL-encoded and upper- or
lower-cased; obvious credentials are found by pattern (`executor.masking_rules`): private key
blocks, the key formats of every provider (`executor.key_formats`), bearer/authorization
tokens, passwords in URLs and on command lines (`mysql -p`, `curl -u`, `redis-cli -a`,
`sshpass -p`, `htpasswd -b`), `password=...`-style settings and `--token`-style options,
and the credential variables of NUL-separated environments (`/proc/PID/environ`). Masking
errs on the side of hiding: a false positive costs a little readability, a false negative
leaks a credential into a chat room.

Masked text may be a command someone is asked to approve, so no rule hides shell syntax: a
value is masked only where it is made of token characters (never whitespace, quotes,
backslashes or any of `$ ( ) { } ; | & < >`), and a private key block hides only the lines
that look like key material (base64 and `Name: value` headers), never a line with anything
else in it. Two exceptions, each safe for its own reason: a URL password may hold `$ ; #`
(a URL's userinfo does; when a hidden `;` splits the command, the approval prompt's parse
check sees the masked command read as other commands and warns), and a NUL-separated
environment's value is hidden whole (a command never holds a NUL).

Every rule works within one line (key blocks keep a little state from line to line), which is
what lets `StreamMasker` mask output as it arrives with the same result as `mask_text` on the
whole. A secret split over two lines (output that wraps it) is not found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from executor.masking_rules import MASK as MASK
from executor.masking_rules import mask_lines, secret_parts, secret_pattern

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# What key material looks like between the markers: base64 (words of it, as `echo $KEY`
# prints a key) or an armor header (`Proc-Type: 4,ENCRYPTED`), with the lines split by line
# breaks or by escaped ones (`\n` in JSON). Nothing else is hidden: no quote, `;`, `$` ...
_KEY_LINE = (
    r"[ \t]*+(?:[A-Za-z][A-Za-z0-9-]*+:[ \t][A-Za-z0-9 \t,.:/+=_-]*+"  # a header
    r"|[A-Za-z0-9+/= \t]*+)"  # base64
)
_KEY_MATERIAL = re.compile(rf"{_KEY_LINE}(?:\\[rn]{_KEY_LINE})*+")
_PEM_MARKER = re.compile(f"{_PEM_BEGIN.pattern}|{_PEM_END.pattern}")
_PEM_BODY = f"\n{MASK}\n"
_LINES = re.compile(r"[^\r\n]*(?:[\r\n]|$)")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Returns text with configured secrets and obvious credentials replaced by MASK."""
    blocks = _KeyBlocks()
    hidden = "".join(blocks.line(line) for line in _LINES.findall(text))
    return mask_lines(hidden, secret_pattern(tuple(secrets)))


@dataclass
class _KeyBlocks:
    """Hides private key material, fed one line at a time (each with its line break, if any).

    Between a BEGIN and an END marker (or the end of the text), each stretch of key material
    (see `_KEY_MATERIAL`: a line, or the part of one next to a marker) is hidden; a run of
    them, line breaks included, becomes one MASK on a line of its own. A line with anything
    else in it is shown as it is and ends the run, so a block can hide no shell syntax.
    """

    in_block: bool = False
    hiding: bool = False
    """In a run of hidden material: its line breaks go too."""
    line_start: bool = True
    """What was given out so far ends with a line break (so MASK needs no break before it)."""

    def line(self, line: str) -> str:
        if not self.in_block and "-----BEGIN" not in line:
            return line
        content = line.rstrip("\r\n")
        out: list[str] = []
        at = 0
        while True:
            if not self.in_block:
                begin = _PEM_BEGIN.search(content, at)
                if begin is None:
                    out.append(self._show(content[at:]))
                    break
                out.append(content[at : begin.end()])
                self.in_block, self.hiding, self.line_start = True, False, False
                at = begin.end()
                continue
            end = _PEM_END.search(content, at)
            out.append(self._material(content[at : end.start() if end else len(content)]))
            if end is None:
                break
            out.append(end.group(0))
            self.in_block, self.line_start = False, False
            at = end.end()
        line_break = line[len(content) :]
        if line_break and not (self.in_block and self.hiding):
            out.append(line_break)
            self.line_start = True
        return "".join(out)

    def open_at(self, line: str) -> int | None:
        """Where the key block still open at the end of `line` (a line without its break,
        not yet fed) begins: its BEGIN marker, 0 if open before; None if none is open."""
        start = 0 if self.in_block else None
        at = 0
        while True:
            if start is None:
                begin = _PEM_BEGIN.search(line, at)
                if begin is None:
                    return None
                start, at = begin.start(), begin.end()
            end = _PEM_END.search(line, at)
            if end is None:
                return start
            start, at = None, end.end()

    def _material(self, text: str) -> str:
        """A stretch inside a block: hidden if it is key material, else shown."""
        if not text.strip(" \t"):  # blank: part of a run, or shown as it is
            return "" if self.hiding else self._show(text)
        if _KEY_MATERIAL.fullmatch(text) is None:
            self.hiding = False
            return self._show(text)
        if self.hiding:
            return ""
        self.hiding = True
        shown = _PEM_BODY[1:] if self.line_start else _PEM_BODY
        self.line_start = True
        return shown

    def _show(self, text: str) -> str:
        if text:
            self.line_start = False
        return text


_PATTERN_SPAN = 256
"""How much of an overlong line a forced cut holds back at least, so a credential (or key
marker) that has begun to arrive is masked whole with what follows."""
_MARKER_SPAN = 64
"""Longer than any BEGIN or END marker."""
_CUT_TRIES = 8
_CUT_AFTER = re.compile(r"[^A-Za-z0-9_\-+/=.~%@:\\]")
"""Characters after which a forced cut is tried: few credentials contain them."""


class StreamMasker:
    """Masks a text stream chunk by chunk; holds back at most one incomplete line.

    Output is released at each line end (\\n or \\r, so progress bars still flow) or when
    a line grows past `max_pending` characters; `flush()` releases the rest at the end.

    An overlong line is cut where masking its two parts equals masking it whole (between
    words, not within a credential), keeping back at least the longest configured secret and
    `_PATTERN_SPAN` characters; a line without such a place (one long word) is cut through no
    configured secret or key marker. A key block still open is not cut until it is very long.
    """

    def __init__(self, secrets: Iterable[str] = (), *, max_pending: int = 8192) -> None:
        key = tuple(secrets)
        self._secrets = secret_pattern(key)
        self._longest_secret = max((len(part) for part in secret_parts(key)), default=0)
        self._max_pending = max_pending
        self._pending = ""
        self._blocks = _KeyBlocks()

    def feed(self, text: str) -> str:
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r")) + 1
        if cut == 0 and len(self._pending) > self._max_pending:
            cut = self._forced_cut()
        if cut == 0:
            return ""
        complete, self._pending = self._pending[:cut], self._pending[cut:]
        return self._mask(complete, self._blocks)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._mask(rest, self._blocks) if rest else ""

    def _mask(self, text: str, blocks: _KeyBlocks) -> str:
        hidden = "".join(blocks.line(line) for line in _LINES.findall(text))
        return mask_lines(hidden, self._secrets)

    def _forced_cut(self) -> int:
        """Where to cut the pending line, which has no line break and has grown too long."""
        text = self._pending
        # Not within a key block still open: what it hides depends on how it ends.
        opened = self._blocks.open_at(text)
        if opened == 0 and len(text) <= 4 * self._max_pending:
            return 0
        limit = len(text) if opened is None or opened == 0 else opened
        return self._clean_cut(text, limit) or self._safe_cut(text, limit)

    def _clean_cut(self, text: str, limit: int) -> int:
        """The last place (of a few tried) where masking the parts equals masking the whole,
        at least `_PATTERN_SPAN` characters and the longest secret from the end; 0 if none."""
        end = min(limit, len(text) - max(self._longest_secret - 1, _PATTERN_SPAN))
        places = [match.end() for match in _CUT_AFTER.finditer(text, 0, max(end, 0))]
        whole = self._mask(text, replace(self._blocks)) if places else ""
        for cut in reversed(places[-_CUT_TRIES:]):
            blocks = replace(self._blocks)
            if self._mask(text[:cut], blocks) + self._mask(text[cut:], blocks) == whole:
                return cut
        return 0

    def _safe_cut(self, text: str, limit: int) -> int:
        """A cut (0 for none yet) through no configured secret, no key marker (even one still
        arriving) and no escaped line break: for one long word, where no place is clean."""
        cut = min(limit, len(text) - max(self._longest_secret - 1, 0))
        markers = list(_PEM_MARKER.finditer(text))
        for match in markers:
            if match.start() < cut < match.end():
                cut = match.start()
        after = max([0, cut - _MARKER_SPAN, *(m.end() for m in markers if m.end() <= cut)])
        arriving = text.find("-----", after, cut + 4)
        if arriving >= 0:
            cut = arriving
        cut = min(cut, max(len(text.rstrip("-")), after))  # dashes at the end may begin one
        if self._secrets is not None:
            for start, end in self._secrets.spans(text):
                if start < cut < end:
                    cut = start
        return max(cut - (text[cut - 1 : cut] == "\\"), 0)
