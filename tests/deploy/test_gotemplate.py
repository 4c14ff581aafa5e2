"""The strict Go-template renderer behaves like Go text/template + Sprig where the chart needs it,
and refuses what it does not implement."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import yaml
from gotemplate import TemplateError, go_float, render_string, to_yaml
from hypothesis import given
from hypothesis import strategies as st


def r(src: str, dot: Any = None, **helpers: str) -> str:
    return render_string(src, {} if dot is None else dot, helpers)


# ------------------------------------------------------------------------ text and trimming


@pytest.mark.parametrize(
    ("src", "out"),
    [
        ("a  {{- 1 -}}  b", "a1b"),
        ("a \n\t {{- 1 }} b", "a1 b"),
        ("a {{ 1 -}} \r\n  b", "a 1b"),
        ("a {{-1}} b", "a -1 b"),  # no space after the dash: a negative number, no trimming
        ("a {{/* note */}} b", "a  b"),
        ("a\n{{- /* note */ -}}\nb", "ab"),
        ("x }} y {", "x }} y {"),
        ('{{ "a\\nb\\t\\"c\\"" }}', 'a\nb\t"c"'),
        ("{{ `raw \\n` }}", "raw \\n"),
        ("{{ true }} {{ false }} {{ 3 }} {{ 1.5 }}", "true false 3 1.5"),
    ],
)
def test_text_actions_and_trim_markers(src: str, out: str) -> None:
    assert r(src) == out


def test_define_include_and_template() -> None:
    helpers = '{{- define "t" -}}\n[{{ . }}]\n{{- end }}'
    assert r('{{ include "t" "x" }}', h=helpers) == "[x]"
    assert r('{{ template "t" 3 }}', h=helpers) == "[3]"
    assert r('a:{{ include "t" "x" | nindent 2 }}', h=helpers) == "a:\n  [x]"
    assert r('{{ define "u" }}{{ $.k }}{{ end }}{{ include "u" .v }}', {"v": {"k": "in"}}) == "in"


# ----------------------------------------------------------------------- data and control


def test_fields_variables_and_scopes() -> None:
    dot = {"a": {"b": "c"}, "l": ["x", "y"]}
    assert r("{{ .a.b }} {{ $.a.b }} {{ (.a).b }}", dot) == "c c c"
    assert r("{{ $x := .a }}{{ $x.b }}", dot) == "c"
    assert r("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", dot) == "2"
    assert r("{{ with .a }}{{ .b }}/{{ $.l }}{{ end }}", {"a": {"b": 1}, "l": "L"}) == "1/L"
    with pytest.raises(TemplateError, match="undefined variable"):
        r("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}")


def test_if_else_if_else_with() -> None:
    src = '{{ if eq .v "a" }}A{{ else if eq .v "b" }}B{{ else }}other{{ end }}'
    assert [r(src, {"v": v}) for v in ("a", "b", "c")] == ["A", "B", "other"]
    src = "{{ with .v }}<{{ . }}>{{ else }}none{{ end }}"
    assert [r(src, {"v": v}) for v in ("x", "", [], {}, 0.0, None)] == [
        "<x>", "none", "none", "none", "none", "none",
    ]


def test_range_lists_and_maps() -> None:
    dot = {"m": {"b": "2", "a": "1"}, "l": ["x", "y"], "e": []}
    assert r("{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}", dot) == "a=1;b=2;"
    assert r("{{ range $v := .m }}{{ $v }}{{ end }}", dot) == "12"
    assert r("{{ range $i, $v := .l }}{{ $i }}{{ $v }}{{ end }}", dot) == "0x1y"
    assert r("{{ range .l }}{{ . }}{{ $.m.a }}{{ end }}", dot) == "x1y1"
    assert r("{{ range .e }}x{{ else }}empty{{ end }}", dot) == "empty"
    with pytest.raises(TemplateError, match="iterate"):
        r('{{ range "abc" }}{{ end }}')


# -------------------------------------------------------------------------------- functions


def test_and_or_return_operands_and_short_circuit() -> None:
    assert r('{{ or "" "x" }} {{ and 1 0 }} {{ and 1 2 }} {{ or 0 "" }}') == "x 0 2 "
    assert r("{{ and false .missing }} {{ or true .missing }}") == "false true"
    assert r('{{ "b" | or "" }}') == "b"


def test_comparisons_follow_go_types() -> None:
    assert r('{{ eq "a" "b" "a" }} {{ ne 1 2 }} {{ eq .f 2.0 }}', {"f": 2.0}) == "true true true"
    assert r("{{ not .n }}", {"n": None}) == "true"
    with pytest.raises(TemplateError, match="nil"):
        r('{{ eq .n "" }}', {"n": None})
    with pytest.raises(TemplateError, match="incompatible types"):
        r("{{ eq .f 2 }}", {"f": 2.0})  # Helm's values are float64; a literal 2 is an int
    with pytest.raises(TemplateError, match="non-comparable"):
        r("{{ eq .m .m }}", {"m": {}})


def test_sprig_functions() -> None:
    dot = {"s": "gw-gateway-", "f": 2.0, "big": 2000000.0, "m": {"k": 1.0}, "e": ""}
    assert r('{{ .s | trimSuffix "-" }}|{{ trunc 4 .s }}|{{ trunc -3 .s }}', dot) == (
        "gw-gateway|gw-g|ay-"
    )
    assert r('{{ default "d" .e }} {{ .e | default "d" }} {{ default "d" .s }}', dot) == (
        "d d gw-gateway-"
    )
    assert r("{{ empty .e }} {{ empty .f }} {{ empty 0 }} {{ empty .m }}", dot) == (
        "true false true false"
    )
    assert r('{{ quote "a\\"b" }} {{ .f | quote }} {{ quote true }}', dot) == '"a\\"b" "2" "true"'
    assert r('{{ printf "%s-%d-%v-%q%%" "a" 3 .f "q" }}', dot) == 'a-3-2-"q"%'
    assert r("{{ .big }} {{ .f }}", dot) == "2e+06 2"
    assert r('{{ hasKey .m "k" }} {{ hasKey .m "x" }}', dot) == "true false"
    assert r('{{ contains "gate" .s }} {{ replace "-" "_" .s }}', dot) == "true gw_gateway_"
    assert r('{{ "hi" | b64enc }}') == base64.b64encode(b"hi").decode()
    assert r('{{ "hi" | sha256sum }}') == hashlib.sha256(b"hi").hexdigest()
    assert r('{{ "a\\nb" | indent 2 }}|{{ "a\\nb" | nindent 2 }}') == "  a\n  b|\n  a\n  b"
    assert r('{{ toJson .l }}', {"l": ["<a&b>", 1.0, {"z": True, "a": None}]}) == (
        '["\\u003ca\\u0026b\\u003e",1,{"a":null,"z":true}]'
    )
    assert r('{{ required "needed" .s }}', dot) == "gw-gateway-"
    with pytest.raises(TemplateError, match="needed"):
        r('{{ required "needed" .e }}', dot)


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.0, "2"), (0.0, "0"), (123456.0, "123456"), (1e6, "1e+06"), (1234567.0, "1.234567e+06"),
     (0.5, "0.5"), (0.0001, "0.0001"), (0.00001, "1e-05"), (-3.25, "-3.25"), (1e21, "1e+21")],
)
def test_floats_print_like_go(value: float, text: str) -> None:
    assert go_float(value) == text


# --------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("src", "dot", "message"),
    [
        ("{{ .missing }}", {}, "no entry for key"),
        ("{{ .a.b }}", {"a": None}, "can't evaluate field"),
        ("{{ .a }}", {"a": None}, "nil"),
        ("{{ .m }}", {"m": {"a": 1}}, "toYaml or toJson"),
        ("{{ upper .s }}", {"s": "x"}, 'function "upper" not defined'),
        ('{{ fromYaml "a: 1" }}', {}, "not defined"),
        ("{{ 1 ", {}, "unclosed action"),
        ("{{/* x */ }}", {}, "comment ends before closing delimiter"),
        ("{{ end }}", {}, "unexpected end"),
        ("{{ else }}", {}, "unexpected else"),
        ("{{ if 1 }}x", {}, "unclosed if"),
        ('{{ if 1 }}{{ define "x" }}{{ end }}{{ end }}', {}, "top level"),
        ('{{ define "x" }}{{ end }}{{ define "x" }}{{ end }}', {}, "defined twice"),
        ('{{ include "nope" . }}', {}, 'no template "nope"'),
        ('{{ define "x" }}{{ include "x" . }}{{ end }}{{ include "x" . }}', {}, "too deep"),
        ("{{ 1 | 2 }}", {}, "non-function"),
        ("{{ $x }}", {}, "undefined variable"),
        ('{{ nindent .n "x" }}', {"n": 2.0}, "expected int"),
        ('{{ printf "%d" .n }}', {"n": 2.0}, "%d"),
        ('{{ printf "%s" }}', {}, "missing argument"),
        ('{{ printf "%x" 1 }}', {}, "unsupported verb"),
        ("{{ block }}", {}, "not supported"),
        ("{{ range $a, $b, $c := .l }}{{ end }}", {"l": []}, "missing space"),
        ('{{ "\\x41" }}', {}, "unsupported escape"),
        ("{{ 'a' }}", {}, "unexpected"),
        ("{{ default 1 }}", {}, "default"),
    ],
)
def test_refusals(src: str, dot: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        r(src, dot)


def test_errors_say_where() -> None:
    with pytest.raises(TemplateError, match=r"^main:3: "):
        r("a\nb\n{{ .nope }}")


# -------------------------------------------------------------------------------- toYaml


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_like)
def test_to_yaml_round_trips_through_a_yaml_reader(value: Any) -> None:
    assert yaml.safe_load(to_yaml(value)) == value
    # ...also when nested under a key with nindent, as the chart uses it.
    assert yaml.safe_load(r("k:{{ toYaml .v | nindent 2 }}", {"v": value})) == {"k": value}


def test_to_yaml_layout() -> None:
    value = {"b": [{"x": 1.0, "y": ["on"]}], "a": {}, "c": "512Mi", "d": "/livez"}
    assert to_yaml(value) == (
        'a: {}\nb:\n- x: 1\n  "y":\n  - "on"\nc: "512Mi"\nd: /livez'
    )
