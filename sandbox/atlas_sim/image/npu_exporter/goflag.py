"""Command-line parsing with the behaviour of Go's `flag` package (Go 1.21), which the real exporter uses.

What scripts and roles can observe is kept: `-name=value`, `-name value` and `--name` forms, bool flags without a
value, parsing stopping at the first non-flag argument or `--`, the error texts followed by the usage on stderr, exit
status 2 for errors and 0 for `-h`/`-help`, and the usage layout of `PrintDefaults`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TextIO

_INT64_CUTOFF = 1 << 63
_UINT64_MAX = (1 << 64) - 1
_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]+)")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
# Go's flag package reports every bad number as one of these two (flag.errParse / flag.errRange).
PARSE_ERROR = "parse error"
RANGE_ERROR = "value out of range"


class FlagExit(Exception):
    """Parsing ended the program: `code` is what a Go binary exits with (2 on errors, 0 after -h)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class BadValue(ValueError):
    """A value a flag refuses; str() is Go's short reason ("parse error" or "value out of range")."""


def go_quote(text: str) -> str:
    """strconv.Quote: double quotes, Go escapes for control characters, printable characters kept."""
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               '"': '\\"', "\\": "\\\\"}
    out = []
    for char in text:
        code = ord(char)
        if char in escapes:
            out.append(escapes[char])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _underscores_ok(text: str) -> bool:
    """strconv's rule: an underscore only between digits, or between a base prefix and a digit."""
    if text[:1] in ("+", "-"):
        text = text[1:]
    saw, i, hexa = "^", 0, False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in "box":
        i, saw, hexa = 2, "0", text[1].lower() == "x"
    for char in text[i:]:
        if char.isdigit() or (hexa and char.lower() in "abcdef"):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def parse_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64): sign, 0x/0o/0b prefixes, a leading 0 for octal, digit-separating underscores."""
    body, negative = text, False
    if body[:1] in ("+", "-"):
        negative, body = body[0] == "-", body[1:]
    if not body:
        raise BadValue(PARSE_ERROR)
    base = 10
    if body[0] == "0":
        prefix = body[1:2].lower()
        if len(body) >= 3 and prefix in ("b", "o", "x"):
            base, body = {"b": 2, "o": 8, "x": 16}[prefix], body[2:]
        else:
            base, body = 8, body[1:]
    value, underscores = 0, False
    for char in body:
        if char == "_":
            underscores = True
            continue
        digit = int(char, 36) if char.isascii() and char.isalnum() else 99
        if digit >= base:
            raise BadValue(PARSE_ERROR)
        value = value * base + digit
        if value > _UINT64_MAX:
            raise BadValue(RANGE_ERROR)
    if underscores and not _underscores_ok(text):
        raise BadValue(PARSE_ERROR)
    if (negative and value > _INT64_CUTOFF) or (not negative and value >= _INT64_CUTOFF):
        raise BadValue(RANGE_ERROR)
    return -value if negative else value


def parse_bool(text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue(PARSE_ERROR)


def parse_duration(text: str) -> int:
    """time.ParseDuration, in nanoseconds ("1s", "1m30s", "1.5h", "-2ms"; a bare "0" too)."""
    body, sign = text, 1
    if body[:1] in ("+", "-"):
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return 0
    if not body:
        raise BadValue(PARSE_ERROR)
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(body):
        number, unit = match.groups()
        if match.start() != pos or number in ("", ".") or unit not in _DURATION_UNITS:
            raise BadValue(PARSE_ERROR)
        total += float(number) * _DURATION_UNITS[unit]
        pos = match.end()
    if pos != len(body):
        raise BadValue(PARSE_ERROR)
    return sign * int(total)


def format_duration(nanos: int) -> str:
    """time.Duration.String for whole and fractional seconds and up ("1s", "1m30s", "1h0m0s", "1.5s")."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return sign + f"{nanos / size:.9f}".rstrip("0").rstrip(".") + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


_PARSERS = {"int": parse_int, "string": str, "bool": parse_bool, "duration": parse_duration}
_ZERO = {"int": "0", "string": "", "bool": "false", "duration": "0s"}


@dataclass
class Flag:
    name: str
    kind: str  # int, string, bool or duration
    default: Any
    usage: str

    @property
    def default_text(self) -> str:
        """flag.DefValue: the default as the Value's String() prints it."""
        if self.kind == "bool":
            return "true" if self.default else "false"
        if self.kind == "duration":
            return format_duration(self.default)
        return str(self.default)


class FlagSet:
    """flag.CommandLine: defined flags, then one parse of the arguments."""

    def __init__(self, program: str, output: TextIO) -> None:
        self.program = program
        self.output = output
        self.flags: dict[str, Flag] = {}

    def define(self, name: str, kind: str, default: Any, usage: str) -> None:
        self.flags[name] = Flag(name, kind, default, usage)

    def parse(self, args: list[str]) -> tuple[dict[str, Any], list[str]]:
        """Values of every flag (defaults where not given) and the arguments left after the flags."""
        values = {name: flag.default for name, flag in self.flags.items()}
        rest = list(args)
        while rest:
            arg = rest[0]
            if len(arg) < 2 or arg[0] != "-":
                break
            dashes = 2 if arg[1] == "-" else 1
            if arg == "--":
                rest.pop(0)
                break
            name = arg[dashes:]
            if not name or name[0] in "-=":
                self._fail(f"bad flag syntax: {arg}")
            rest.pop(0)
            value: str | None = None
            if "=" in name[1:]:
                cut = name.index("=", 1)
                name, value = name[:cut], name[cut + 1 :]
            values[name] = self._value(name, value, rest)
        return values, rest

    def _value(self, name: str, value: str | None, rest: list[str]) -> Any:
        flag = self.flags.get(name)
        if flag is None:
            if name in ("help", "h"):
                self.output.write(self.usage())
                raise FlagExit(0)
            self._fail(f"flag provided but not defined: -{name}")
        if flag.kind == "bool":
            if value is None:
                return True
            try:
                return parse_bool(value)
            except BadValue as exc:
                self._fail(f"invalid boolean value {go_quote(value)} for -{name}: {exc}")
        if value is None:
            if not rest:
                self._fail(f"flag needs an argument: -{name}")
            value = rest.pop(0)
        try:
            return _PARSERS[flag.kind](value)
        except BadValue as exc:
            self._fail(f"invalid value {go_quote(value)} for flag -{name}: {exc}")

    def _fail(self, message: str) -> None:
        self.output.write(message + "\n")
        self.output.write(self.usage())
        raise FlagExit(2)

    def usage(self) -> str:
        """flag.Usage of the command line: the header, then PrintDefaults in name order."""
        lines = [f"Usage of {self.program}:\n"]
        for name in sorted(self.flags):
            lines.append(self._describe(self.flags[name]))
        return "".join(lines)

    @staticmethod
    def _describe(flag: Flag) -> str:
        usage, type_name = flag.usage, {"bool": "", "duration": "duration", "int": "int", "string": "string"}
        name = type_name[flag.kind]
        start = usage.find("`")
        end = usage.find("`", start + 1) if start >= 0 else -1
        if end > start >= 0:  # a back-quoted word in the usage names the value
            name = usage[start + 1 : end]
            usage = usage[:start] + name + usage[end + 1 :]
        text = f"  -{flag.name}" + (f" {name}" if name else "")
        text += "\t" if len(text) <= 4 else "\n    \t"
        text += usage.replace("\n", "\n    \t")
        if flag.default_text != _ZERO[flag.kind]:
            shown = go_quote(flag.default_text) if flag.kind == "string" else flag.default_text
            text += f" (default {shown})"
        return text + "\n"
