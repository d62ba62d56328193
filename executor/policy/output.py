"""What a command writes to its stdout, as far as the policy can tell: the exact text of
`echo`/`printf`, downloaded data, decoded data, or just some output.

Pure: it lets `curl ... | sh` and `echo cm0gLXJmIC8= | base64 -d | sh` be recognised.
"""

from __future__ import annotations

import re
from dataclasses import replace

from executor import shell
from executor.policy.knowledge import ALWAYS_DECODERS, DOWNLOADERS
from executor.policy.values import NO_STREAM, Arg, Frame, Stream, StreamKind, join_origins


def command_output(name: str, argv: tuple[Arg, ...], stdin: Stream, frame: Frame) -> Stream:
    """What `name` writes to its stdout: static text, downloaded or decoded code, or other."""
    origin = join_origins(stdin.origin, frame.text)
    if name in DOWNLOADERS:
        return Stream(StreamKind.DOWNLOAD, "", origin)
    if is_decoder(name, argv):
        return Stream(max(StreamKind.DECODED, stdin.kind), "", origin)
    if name == "echo":
        return echo_stream(argv[1:], frame.text)
    if name == "printf":
        return printf_stream(argv[1:], frame.text)
    if name in ("cat", "tee") and (
        name == "tee" or all(not a.dynamic and a.value.startswith("-") for a in argv[1:])
    ):
        return replace(stdin, origin=origin) if stdin.kind is not StreamKind.NONE else NO_STREAM
    kind = stdin.kind if stdin.kind >= StreamKind.DECODED else StreamKind.OTHER
    return Stream(kind, "", origin)


def is_decoder(name: str, argv: tuple[Arg, ...]) -> bool:
    """Whether the command's output is decoded text (base64 -d, xxd -r, gunzip...)."""
    flags = [a.value for a in argv[1:] if not a.dynamic and a.value.startswith("-")]
    short = "".join(f[1:] for f in flags if not f.startswith("--"))
    if name in ALWAYS_DECODERS:
        return True
    if name in ("base64", "base32", "basenc"):
        return "d" in short or "D" in short or "--decode" in flags
    if name == "openssl":
        words = [a.value for a in argv[1:]]
        return "-d" in words and any(w in ("base64", "enc", "-a", "-base64") for w in words)
    if name == "xxd":
        return "r" in short or "--revert" in flags
    if name in ("gzip", "bzip2", "xz", "zstd", "lzma", "lz4"):
        return "d" in short or "--decompress" in flags or "--uncompress" in flags
    return False


def echo_stream(args: tuple[Arg, ...], text: str) -> Stream:
    """echo's exact output (with and without escapes decoded, as shells differ)."""
    newline = True
    i = 0
    while i < len(args) and not args[i].dynamic and re.fullmatch(r"-[neE]+", args[i].value):
        newline = newline and "n" not in args[i].value
        i += 1
    rest = args[i:]
    dynamic = [a for a in rest if a.dynamic]
    if dynamic:
        taint = max(a.taint for a in dynamic)
        origin = ""
        for a in dynamic:
            origin = join_origins(origin, a.origin)
        return Stream(max(StreamKind.OTHER, taint), "", join_origins(origin, text))
    body = " ".join(a.value for a in rest)
    out = body + ("\n" if newline else "")
    if "\\" in body:  # some shells' echo decodes escapes, some don't: consider both
        out += shell.decode_escapes(body, mode="echo") + "\n"
    return Stream(StreamKind.STATIC, out, text)


PRINTF_SPEC = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?([sbdiouxXcfeEgGq]))")


def printf_stream(args: tuple[Arg, ...], text: str) -> Stream:
    """printf's exact output, its format applied to the arguments, plus the raw words."""
    if args and not args[0].dynamic and args[0].value == "-v":
        return NO_STREAM
    if args and not args[0].dynamic and args[0].value == "--":
        args = args[1:]
    if not args or any(a.dynamic for a in args):
        taint = max((a.taint for a in args), default=StreamKind.NONE)
        return Stream(max(StreamKind.OTHER, taint), "", text)
    fmt = args[0].value
    values = [a.value for a in args[1:]]
    out: list[str] = []
    k = 0
    for _ in range(16):
        pos = 0
        used = 0
        for m in PRINTF_SPEC.finditer(fmt):
            out.append(shell.decode_escapes(fmt[pos : m.start()], mode="printf"))
            pos = m.end()
            conv = m.group(1)
            if conv is None:
                out.append("%")
                continue
            value = values[k] if k < len(values) else ""
            k += 1
            used += 1
            if conv == "b":
                out.append(shell.decode_escapes(value, mode="echo"))
            elif conv == "c":
                out.append(value[:1])
            elif conv in "sq":
                out.append(value)
            else:
                out.append(value or "0")
        out.append(shell.decode_escapes(fmt[pos:], mode="printf"))
        if not used or k >= len(values):
            break
    return Stream(StreamKind.STATIC, "".join(out) + "\n" + " ".join([fmt, *values]) + "\n", text)
