"""A strict renderer for the subset of Go text/template + Sprig + Helm that `helm/gateway` uses.

There is no `helm` binary on the development machines or in CI, so the chart's tests render it
with this module. It follows Go's semantics where the chart depends on them and refuses whatever
it does not implement, so a template that renders here renders the same way under Helm:

* delimiters `{{ }}`; trim markers `{{- ` / ` -}}` remove all adjacent spaces, tabs, CR and LF
  (the marker needs the whitespace, as in Go); comments `{{/* */}}`, also with trim markers;
* actions `if` / `else if` / `else`, `with` / `else`, `range` (lists, and maps in sorted key
  order, with `$v :=` or `$k, $v :=`, and `else`), `define` (top level only), `template`;
* pipelines with `|`, parenthesised sub-pipelines, variables (`$`, `$x := ...`, `$x = ...`),
  field chains on dot, variables and parenthesised results, string/number/bool/nil literals;
* functions: Go's and/or (short-circuit, returning an operand), not, eq, ne, printf (%s %d %v
  %q %%); Helm's include, required, toYaml, toJson; Sprig's default, empty, quote, nindent,
  indent, trunc, trimSuffix, replace, contains, b64enc, sha256sum, hasKey. Nothing else (no
  tpl, fromYaml, dict, list, lookup...).

Stricter than Helm: a missing map key or a field of nil is an error (Helm prints `<no value>`,
or fails only with --strict), printing nil, a map or a list is an error, an unknown function or
keyword is an error. Numbers from values files are floats, as in Helm (values go through JSON):
a value of 2000000 prints as `2e+06` (Go's `%v`), an int parameter (nindent, trunc) refuses
it, and comparing it with an int literal fails, exactly as under Helm.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SPACE = " \t\r\n"
KEYWORDS = {"if", "else", "end", "range", "with", "define", "template"}
UNSUPPORTED_KEYWORDS = {"block", "break", "continue"}


class TemplateError(Exception):
    """Any parse or execution error. Never swallowed: the tests want it raised."""

    located = False


# --------------------------------------------------------------------------------- lexing


@dataclass
class Tok:
    kind: str  # str num bool nil ident var field dot ( ) | , := =
    val: Any
    spaced: bool  # whitespace precedes this token inside the action


@dataclass
class Item:
    kind: str  # "text" or "action"
    text: str = ""
    toks: list[Tok] = field(default_factory=list)
    where: str = ""


_TOKEN_RE = re.compile(
    r"""(?P<str>"(?:[^"\\\n]|\\.)*")
      |(?P<raw>`[^`]*`)
      |(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      |(?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
      |(?P<dot>\.)
      |(?P<num>-?[0-9]+(?:\.[0-9]+)?)
      |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<op>:=|[()|,=])""",
    re.VERBOSE,
)


def _lex(src: str, name: str) -> list[Item]:
    items: list[Item] = []
    pos = 0
    trim_next = False
    while True:
        start = src.find("{{", pos)
        text = src[pos:] if start < 0 else src[pos:start]
        if trim_next:
            text = text.lstrip(SPACE)
        if start < 0:
            if text:
                items.append(Item("text", text))
            return items
        i = start + 2
        if src[i : i + 1] == "-" and src[i + 1 : i + 2] in tuple(SPACE):
            text = text.rstrip(SPACE)
            i += 2
        if text:
            items.append(Item("text", text))
        where = f"{name}:{src.count(chr(10), 0, start) + 1}"
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise TemplateError(f"{where}: unclosed comment")
            i = end + 2
            if src.startswith(" -}}", i):
                pos, trim_next = i + 4, True
            elif src.startswith("}}", i):
                pos, trim_next = i + 2, False
            else:
                raise TemplateError(f"{where}: comment ends before closing delimiter")
            continue
        toks: list[Tok] = []
        spaced = False
        while True:
            if i >= len(src):
                raise TemplateError(f"{where}: unclosed action")
            if src[i] in SPACE:
                if src[i + 1 : i + 2] == "-" and src.startswith("}}", i + 2):
                    pos, trim_next = i + 4, True
                    break
                i += 1
                spaced = True
                continue
            if src.startswith("}}", i):
                pos, trim_next = i + 2, False
                break
            m = _TOKEN_RE.match(src, i)
            if not m:
                raise TemplateError(f"{where}: unexpected {src[i:i + 10]!r} in action")
            kind = m.lastgroup
            tok = m.group()
            if kind == "str":
                val: Any = _go_string(tok, where)
                kind = "str"
            elif kind == "raw":
                val, kind = tok[1:-1], "str"
            elif kind == "num":
                val = float(tok) if "." in tok else int(tok)
            elif kind == "ident" and tok in ("true", "false"):
                val, kind = tok == "true", "bool"
            elif kind == "ident" and tok == "nil":
                val, kind = None, "nil"
            elif kind == "var":
                name_, *path = tok.split(".")
                val = (name_, path)
            elif kind == "field":
                val = tok.split(".")[1:]
            else:
                val = tok
                if kind == "op":
                    kind = tok
            toks.append(Tok(kind, val, spaced))
            spaced = False
            i = m.end()
        if not toks:
            raise TemplateError(f"{where}: missing value for command")
        items.append(Item("action", toks=toks, where=where))


def _go_string(tok: str, where: str) -> str:
    if re.search(r"\\[^nt\"\\ur]", tok):
        raise TemplateError(f"{where}: unsupported escape in {tok}")
    return json.loads(tok)


# --------------------------------------------------------------------------------- parsing


@dataclass
class Pipe:
    decl: list[str]
    assign: bool
    cmds: list[list[tuple]]  # each command: operands; operand: (kind, ...)


@dataclass
class Node:
    kind: str  # text action if range with template
    text: str = ""
    pipe: Pipe | None = None
    branches: list[tuple[Pipe, list[Node]]] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    else_body: list[Node] = field(default_factory=list)
    name: str = ""
    where: str = ""


class _Parser:
    def __init__(self, items: list[Item], defines: dict[str, list[Node]]):
        self.items, self.i, self.defines = items, 0, defines

    def parse_top(self) -> list[Node]:
        nodes, stop = self.parse_list(top=True)
        if stop is not None:
            raise TemplateError(f"{stop.where}: unexpected {stop.toks[0].val}")
        return nodes

    def parse_list(self, top: bool = False) -> tuple[list[Node], Item | None]:
        nodes: list[Node] = []
        while self.i < len(self.items):
            item = self.items[self.i]
            self.i += 1
            if item.kind == "text":
                nodes.append(Node("text", text=item.text))
                continue
            head = item.toks[0]
            word = head.val if head.kind == "ident" else None
            if word in UNSUPPORTED_KEYWORDS:
                raise TemplateError(f"{item.where}: {word} is not supported")
            if word in ("end", "else"):
                return nodes, item
            if word == "define":
                if not top:
                    raise TemplateError(f"{item.where}: define is only allowed at top level")
                name = self._name(item)
                body, stop = self.parse_list()
                if stop is None or stop.toks[0].val != "end" or len(stop.toks) != 1:
                    raise TemplateError(f"{item.where}: define {name!r} lacks a plain end")
                if name in self.defines:
                    raise TemplateError(f"{item.where}: template {name!r} defined twice")
                self.defines[name] = body
            elif word in ("if", "with", "range"):
                nodes.append(self.parse_control(word, item))
            elif word == "template":
                name = self._name(item)
                rest = item.toks[2:]
                pipe = _parse_pipe(rest, item.where) if rest else None
                nodes.append(Node("template", name=name, pipe=pipe, where=item.where))
            else:
                nodes.append(Node("action", pipe=_parse_pipe(item.toks, item.where),
                                  where=item.where))
        return nodes, None

    @staticmethod
    def _name(item: Item) -> str:
        if len(item.toks) < 2 or item.toks[1].kind != "str":
            raise TemplateError(f"{item.where}: {item.toks[0].val} needs a quoted name")
        if item.toks[0].val == "define" and len(item.toks) != 2:
            raise TemplateError(f"{item.where}: unexpected tokens after define name")
        return item.toks[1].val

    def parse_control(self, word: str, item: Item) -> Node:
        node = Node(word, where=item.where)
        pipe = _parse_pipe(item.toks[1:], item.where)
        if len(pipe.decl) > (2 if word == "range" else 1):
            raise TemplateError(f"{item.where}: too many declarations in {word}")
        body, stop = self.parse_list()
        node.branches.append((pipe, body))
        while True:
            if stop is None:
                raise TemplateError(f"{item.where}: unclosed {word}")
            toks = stop.toks
            if toks[0].val == "end":
                if len(toks) != 1:
                    raise TemplateError(f"{stop.where}: unexpected tokens after end")
                return node
            # else
            if len(toks) == 1:
                node.else_body, stop = self.parse_list()
                if stop is None or stop.toks[0].val != "end" or len(stop.toks) != 1:
                    raise TemplateError(f"{item.where}: {word} ... else lacks a plain end")
                return node
            if word == "if" and toks[1].kind == "ident" and toks[1].val == "if":
                body, stop2 = self.parse_list()
                node.branches.append((_parse_pipe(toks[2:], stop.where), body))
                stop = stop2
                continue
            raise TemplateError(f"{stop.where}: unsupported else form in {word}")


def _parse_pipe(toks: list[Tok], where: str) -> Pipe:
    decl: list[str] = []
    assign = False
    if toks and toks[0].kind == "var" and not toks[0].val[1]:
        if len(toks) > 1 and toks[1].kind in (":=", "="):
            decl, assign, toks = [toks[0].val[0]], toks[1].kind == "=", toks[2:]
        elif (len(toks) > 3 and toks[1].kind == "," and toks[2].kind == "var"
              and toks[3].kind == ":="):
            decl, toks = [toks[0].val[0], toks[2].val[0]], toks[4:]
    pos, cmds = 0, []
    cmd: list[tuple] = []
    while pos < len(toks):
        tok = toks[pos]
        if tok.kind == "|":
            if not cmd:
                raise TemplateError(f"{where}: missing command before |")
            cmds.append(cmd)
            cmd = []
            pos += 1
            continue
        if cmd and not tok.spaced and tok.kind != "(":
            raise TemplateError(f"{where}: missing space before {tok.val!r}")
        operand, pos = _parse_operand(toks, pos, where)
        cmd.append(operand)
    if not cmd:
        raise TemplateError(f"{where}: missing command in pipeline")
    cmds.append(cmd)
    return Pipe(decl, assign, cmds)


def _parse_operand(toks: list[Tok], pos: int, where: str) -> tuple[tuple, int]:
    tok = toks[pos]
    if tok.kind == "(":
        depth, end = 0, pos
        while end < len(toks):
            depth += {"(": 1, ")": -1}.get(toks[end].kind, 0)
            if depth == 0:
                break
            end += 1
        else:
            raise TemplateError(f"{where}: unclosed parenthesis")
        inner = _parse_pipe(toks[pos + 1 : end], where)
        if inner.decl:
            raise TemplateError(f"{where}: declaration inside parentheses")
        path: list[str] = []
        if end + 1 < len(toks) and toks[end + 1].kind == "field" and not toks[end + 1].spaced:
            path, end = toks[end + 1].val, end + 1
        return ("pipe", inner, path), end + 1
    if tok.kind == "field":
        return ("field", tok.val), pos + 1
    if tok.kind == "var":
        return ("var", tok.val[0], tok.val[1]), pos + 1
    if tok.kind == "dot":
        return ("dot",), pos + 1
    if tok.kind in ("str", "num", "bool", "nil"):
        return ("lit", tok.val), pos + 1
    if tok.kind == "ident":
        if tok.val in KEYWORDS or tok.val in UNSUPPORTED_KEYWORDS:
            raise TemplateError(f"{where}: unexpected keyword {tok.val}")
        return ("ident", tok.val), pos + 1
    raise TemplateError(f"{where}: unexpected {tok.val!r}")


# --------------------------------------------------------------------------- Go semantics


def truth(v: Any) -> bool:
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v != 0
    if isinstance(v, str | list | dict):
        return len(v) > 0
    raise TemplateError(f"cannot judge the truth of {type(v).__name__}")


def go_float(f: float) -> str:
    """Go's `%v` for a float64: strconv's shortest 'g' form, which switches to an exponent when
    the decimal exponent is below -4 or at least 6 (so 1000000 prints as 1e+06, as in Helm)."""
    if f == 0:
        return "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    nd = len(digits)
    dp = nd + exp
    ds = "".join(map(str, digits))
    neg = "-" if sign else ""
    e = dp - 1
    if e < -4 or e >= 6:
        mant = ds[0] + ("." + ds[1:] if nd > 1 else "")
        return f"{neg}{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= nd:
        return f"{neg}{ds}{'0' * (dp - nd)}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"


def go_str(v: Any) -> str:
    """What an action prints. Nil, maps and lists are errors here (Helm would print them)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if v is None:
        raise TemplateError("printing a nil value (Helm would print <no value>)")
    raise TemplateError(f"printing a {type(v).__name__} (use toYaml or toJson)")


def go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _kind(v: Any) -> str:
    if v is None:  # Go's answer depends on how the nil arose; the chart never compares one
        raise TemplateError("invalid type for comparison: nil")
    for t, k in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string")):
        if isinstance(v, t):
            return k
    raise TemplateError(f"non-comparable type {type(v).__name__}")


def go_eq(a: Any, *others: Any) -> bool:
    if not others:
        raise TemplateError("eq: missing argument for comparison")
    ka = _kind(a)
    for b in others:
        kb = _kind(b)
        if ka != kb:
            raise TemplateError(f"eq: incompatible types for comparison ({ka}, {kb})")
        if a == b:
            return True
    return False


def _scalar_is_plain(s: str) -> bool:
    if not re.fullmatch(r"[A-Za-z_/][A-Za-z0-9_./@-]*", s):
        return False
    return s.lower() not in {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def _json_ready(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    if isinstance(v, dict):
        return {k: _json_ready(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_ready(x) for x in v]
    return v


def to_yaml(v: Any) -> str:
    """Block YAML, keys sorted, like Helm's toYaml; no trailing newline."""
    return "\n".join(_yaml_lines(_json_ready(v), 0))


def _yaml_scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise TemplateError("toYaml: NaN and infinities have no JSON form")
        r = repr(v)  # "1e-07" would be a string to YAML 1.1 readers: give it a dot
        return r.replace("e", ".0e") if "e" in r and "." not in r else r
    if isinstance(v, str):
        return v if _scalar_is_plain(v) else go_quote(v)
    raise TemplateError(f"toYaml: unsupported type {type(v).__name__}")


def _yaml_lines(v: Any, ind: int) -> list[str]:
    pad = " " * ind
    if isinstance(v, dict) and v:
        lines = []
        for k in sorted(v):
            if not isinstance(k, str):
                raise TemplateError("toYaml: map keys must be strings")
            x = v[k]
            if isinstance(x, dict) and x:
                lines += [f"{pad}{_yaml_scalar(k)}:", *_yaml_lines(x, ind + 2)]
            elif isinstance(x, list) and x:
                lines += [f"{pad}{_yaml_scalar(k)}:", *_yaml_lines(x, ind)]
            else:
                lines.append(f"{pad}{_yaml_scalar(k)}: {_yaml_inline(x)}")
        return lines
    if isinstance(v, list) and v:
        lines = []
        for x in v:
            sub = _yaml_lines(x, ind + 2) if isinstance(x, dict | list) and x else None
            if sub:
                lines.append(f"{pad}- {sub[0][ind + 2:]}")
                lines += sub[1:]
            else:
                lines.append(f"{pad}- {_yaml_inline(x)}")
        return lines
    return [pad + _yaml_inline(v)]


def _yaml_inline(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _yaml_scalar(v)


def to_json(v: Any) -> str:
    out = json.dumps(_json_ready(v), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        out = out.replace(ch, esc)
    return out


def go_printf(fmt: str, *args: Any) -> str:
    out, n = [], 0

    def arg() -> Any:
        nonlocal n
        if n >= len(args):
            raise TemplateError(f"printf {fmt!r}: missing argument")
        n += 1
        return args[n - 1]

    for m in re.finditer(r"%(.)|[^%]+", fmt, re.S):
        verb = m.group(1)
        if verb is None:
            out.append(m.group())
        elif verb == "%":
            out.append("%")
        elif verb in "sq":
            a = arg()
            if not isinstance(a, str):
                raise TemplateError(f"printf %{verb} with a {type(a).__name__}")
            out.append(a if verb == "s" else go_quote(a))
        elif verb == "d":
            a = arg()
            if isinstance(a, bool) or not isinstance(a, int):
                raise TemplateError(f"printf %d with a {type(a).__name__}")
            out.append(str(a))
        elif verb == "v":
            out.append(go_str(arg()))
        else:
            raise TemplateError(f"printf: unsupported verb %{verb}")
    if n != len(args):
        raise TemplateError(f"printf {fmt!r}: too many arguments")
    return "".join(out)


def _typed(name: str, *types: type) -> Callable[..., Callable[..., Any]]:
    """Check argument count and types the way Go's reflection-based call would."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if len(args) != len(types):
                raise TemplateError(f"{name}: wants {len(types)} arguments, got {len(args)}")
            for a, t in zip(args, types, strict=True):
                bad = not isinstance(a, t) or (t is int and isinstance(a, bool))
                if t is not object and bad:
                    raise TemplateError(f"{name}: expected {t.__name__}, got {type(a).__name__}")
            return fn(*args)

        return call

    return wrap


def _trunc(c: int, s: str) -> str:
    if c < 0 and len(s) + c > 0:
        return s[len(s) + c :]
    if c >= 0 and len(s) > c:
        return s[:c]
    return s


def _indent(n: int, s: str) -> str:
    pad = " " * n
    return pad + s.replace("\n", "\n" + pad)


def _default(d: Any, *given: Any) -> Any:
    if len(given) != 1:
        raise TemplateError("default: wants a default and one value")
    return given[0] if truth(given[0]) else d


def _required(msg: str, v: Any) -> Any:
    if v is None or v == "":
        raise TemplateError(f"required: {msg}")
    return v


def _quote(*args: Any) -> str:
    return " ".join(go_quote(go_str(a)) for a in args if a is not None)


FUNCS: dict[str, Callable[..., Any]] = {
    "not": _typed("not", object)(lambda v: not truth(v)),
    "eq": go_eq,
    "ne": _typed("ne", object, object)(lambda a, b: not go_eq(a, b)),
    "printf": lambda fmt="", *a: go_printf(_typed("printf", str)(str)(fmt), *a),
    "toYaml": _typed("toYaml", object)(to_yaml),
    "toJson": _typed("toJson", object)(to_json),
    "required": _typed("required", str, object)(_required),
    "default": _default,
    "empty": _typed("empty", object)(lambda v: not truth(v)),
    "quote": _quote,
    "nindent": _typed("nindent", int, str)(lambda n, s: "\n" + _indent(n, s)),
    "indent": _typed("indent", int, str)(_indent),
    "trunc": _typed("trunc", int, str)(_trunc),
    "trimSuffix": _typed("trimSuffix", str, str)(lambda a, s: s.removesuffix(a)),
    "replace": _typed("replace", str, str, str)(lambda old, new, s: s.replace(old, new)),
    "contains": _typed("contains", str, str)(lambda sub, s: sub in s),
    "b64enc": _typed("b64enc", str)(lambda s: base64.b64encode(s.encode()).decode()),
    "sha256sum": _typed("sha256sum", str)(lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "hasKey": _typed("hasKey", dict, str)(lambda d, k: k in d),
}


# ------------------------------------------------------------------------------ execution


class _Exec:
    def __init__(self, tpl: Templates, root: Any):
        self.tpl = tpl
        self.vars: list[tuple[str, Any]] = [("$", root)]
        self.out: list[str] = []

    def lookup(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise TemplateError(f"undefined variable: {name}")

    def assign(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise TemplateError(f"undefined variable: {name}")

    def walk(self, nodes: list[Node], dot: Any) -> None:
        for node in nodes:
            try:
                self.walk_one(node, dot)
            except TemplateError as e:
                if not node.where or e.located:
                    raise
                err = TemplateError(f"{node.where}: {e}")
                err.located = True
                raise err from None

    def walk_one(self, node: Node, dot: Any) -> None:
        k = node.kind
        if k == "text":
            self.out.append(node.text)
        elif k == "action":
            assert node.pipe is not None
            v = self.pipe(node.pipe, dot)
            if not node.pipe.decl:
                self.out.append(go_str(v))
        elif k == "template":
            data = self.pipe(node.pipe, dot) if node.pipe else None
            self.out.append(self.tpl.include(node.name, data))
        elif k in ("if", "with"):
            mark = len(self.vars)
            for pipe, body in node.branches:
                v = self.pipe(pipe, dot)
                if truth(v):
                    self.walk(body, v if k == "with" else dot)
                    break
            else:
                self.walk(node.else_body, dot)
            del self.vars[mark:]
        elif k == "range":
            mark = len(self.vars)
            pipe, body = node.branches[0]
            seq = self.pipe(Pipe([], False, pipe.cmds), dot)
            if isinstance(seq, dict):
                pairs = [(key, seq[key]) for key in sorted(seq)]
            elif isinstance(seq, list):
                pairs = list(enumerate(seq))
            elif seq is None:
                pairs = []
            else:
                raise TemplateError(f"range can't iterate over {go_str(seq)}")
            for key, val in pairs:
                inner = len(self.vars)
                if len(pipe.decl) == 1:
                    self.vars.append((pipe.decl[0], val))
                elif len(pipe.decl) == 2:
                    self.vars += [(pipe.decl[0], key), (pipe.decl[1], val)]
                self.walk(body, val)
                del self.vars[inner:]
            if not pairs:
                self.walk(node.else_body, dot)
            del self.vars[mark:]
        else:  # pragma: no cover
            raise TemplateError(f"unknown node {k}")

    def pipe(self, pipe: Pipe, dot: Any) -> Any:
        value: Any = _NOTHING
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        if pipe.decl:
            if pipe.assign:
                self.assign(pipe.decl[0], value)
            else:
                self.vars.append((pipe.decl[0], value))
        return value

    def command(self, cmd: list[tuple], dot: Any, final: Any) -> Any:
        head = cmd[0]
        if head[0] != "ident":
            if len(cmd) > 1 or final is not _NOTHING:
                raise TemplateError("can't give argument to non-function")
            if head == ("lit", None):
                raise TemplateError("nil is not a command")
            return self.operand(head, dot)
        name, ops = head[1], cmd[1:]
        if name in ("and", "or"):
            thunks = [lambda op=op: self.operand(op, dot) for op in ops]
            if final is not _NOTHING:
                thunks.append(lambda: final)
            if len(thunks) < 2:
                raise TemplateError(f"{name}: wants at least 2 arguments")
            v = None
            for th in thunks:
                v = th()
                if truth(v) != (name == "and"):
                    return v
            return v
        args = [self.operand(op, dot) for op in ops]
        if final is not _NOTHING:
            args.append(final)
        return self.call(name, args)

    def call(self, name: str, args: list[Any]) -> Any:
        if name == "include":
            if len(args) != 2 or not isinstance(args[0], str):
                raise TemplateError("include: wants a template name and data")
            return self.tpl.include(args[0], args[1])
        fn = FUNCS.get(name)
        if fn is None:
            raise TemplateError(f'function "{name}" not defined')
        return fn(*args)

    def operand(self, op: tuple, dot: Any) -> Any:
        kind = op[0]
        if kind == "lit":
            return op[1]
        if kind == "dot":
            return dot
        if kind == "field":
            return _walk_path(dot, op[1], "")
        if kind == "var":
            return _walk_path(self.lookup(op[1]), op[2], op[1])
        if kind == "pipe":
            return _walk_path(self.pipe(op[1], dot), op[2], "(...)")
        if kind == "ident":  # a niladic function used as an argument
            return self.call(op[1], [])
        raise TemplateError(f"bad operand {op}")  # pragma: no cover


_NOTHING = object()


def _walk_path(v: Any, path: list[str], start: str) -> Any:
    where = start
    for key in path:
        if not isinstance(v, dict):
            kind = type(v).__name__
            raise TemplateError(f"can't evaluate field {key} in {where or '.'} ({kind})")
        if key not in v:
            raise TemplateError(f"map has no entry for key {key!r} at {where or '.'}")
        v = v[key]
        where = f"{where}.{key}"
    return v


class Templates:
    """A set of template files sharing their `define`s, like Helm's chart templates."""

    MAX_DEPTH = 100

    def __init__(self, files: dict[str, str]):
        self.defines: dict[str, list[Node]] = {}
        self.files: dict[str, list[Node]] = {}
        for name, src in files.items():
            self.files[name] = _Parser(_lex(src, name), self.defines).parse_top()
        self.depth = 0

    def render(self, name: str, root: Any) -> str:
        ex = _Exec(self, root)
        ex.walk(self.files[name], root)
        return "".join(ex.out)

    def include(self, name: str, data: Any) -> str:
        if name not in self.defines:
            raise TemplateError(f'no template "{name}" defined')
        self.depth += 1
        try:
            if self.depth > self.MAX_DEPTH:
                raise TemplateError(f"include {name!r}: nesting too deep")
            ex = _Exec(self, data)
            ex.walk(self.defines[name], data)
            return "".join(ex.out)
        finally:
            self.depth -= 1


def render_string(src: str, root: Any, extra: dict[str, str] | None = None) -> str:
    """Render one template source (plus optional helper files) with `root` as dot."""
    t = Templates({"main": src, **(extra or {})})
    return t.render("main", root)
