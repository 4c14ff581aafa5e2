"""The outage report (both backends): each incident of the period with its durations and the
documents it affected (DocumentId, code, subject, priority, delivery state), urgent first —
from the API as JSON and CSV and from `gateway report outages`, which agree; period and agency
filters; bad dates refused."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from outage_support import FLASH_SUBJECT, HOUR, recover, start, vn, weekend_outage

from ops.ops_support import H17

REPORT = "/api/v1/admin/reports/outages"
NAME = "UBND xã Hòa Sơn <i>&</i>"


async def test_report_lists_each_incident_and_the_documents_it_affected(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 19, 9, 0), name=NAME)
    w = await weekend_outage(h)
    admin = await h.gw.admin()

    # open (Monday 11:00): durations so far
    r = await h.gw.http.get(
        REPORT, params={"from": "2026-11-20", "to": "2026-11-23"}, headers=admin
    )
    assert r.status_code == 200, r.text
    [incident] = r.json()["incidents"]
    assert (incident["state"], incident["kind"]) == ("open", "agency")
    assert (incident["agency_code"], incident["agency_name"]) == (H17, NAME)
    assert incident["started_at"] == "2026-11-20T16:00:00+07:00"
    assert incident["closed_at"] is None
    assert incident["working_seconds"] == 4.5 * HOUR
    assert incident["duration_seconds"] == 67 * HOUR
    copies = incident["affected"]
    assert [c["delivery_id"] for c in copies] == [w.flash, w.urgent, w.ordinary, w.gave_up]
    flash = copies[0]
    assert flash["document_id"] == "000.00.00.A80,2026/10/01,4/OPS"
    assert flash["subject"] == FLASH_SUBJECT
    assert flash["code"] and flash["priority"] == 3
    assert [c["delivery_state"] for c in copies] == ["pending"] * 3 + ["failed"]

    # closed: durations to the recovery; the copies delivered since
    fresh = await recover(h)
    r = await h.gw.http.get(REPORT, params={"agency": H17}, headers=admin)
    [incident] = r.json()["incidents"]
    assert incident["state"] == "closed"
    assert incident["closed_at"] == "2026-11-23T14:00:00+07:00"
    assert (incident["duration_seconds"], incident["working_seconds"]) == (70 * HOUR, 5.5 * HOUR)
    ids = [c["delivery_id"] for c in incident["affected"]]
    assert ids == [w.flash, w.urgent, w.ordinary, w.gave_up, fresh]
    assert {c["delivery_state"] for c in incident["affected"]} == {"delivered"}

    # CSV: one line per affected copy
    r = await h.gw.http.get(REPORT, params={"format": "csv"}, headers=admin)
    assert r.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [line["delivery_id"] for line in lines] == ids
    assert {line["agency_name"] for line in lines} == {NAME}
    assert lines[0]["subject"] == FLASH_SUBJECT and lines[0]["priority"] == "3"
    assert {line["working_seconds"] for line in lines} == {str(int(5.5 * HOUR))}

    # the period and the agency select incidents
    for params in ({"from": "2026-11-24"}, {"to": "2026-11-19"}, {"agency": "upstream"}):
        r = await h.gw.http.get(REPORT, params=params, headers=admin)
        assert r.json()["incidents"] == [], params
    for params in ({"from": "2026-13-01"}, {"to": "0001-01-01"}, {"format": "xml"}):
        r = await h.gw.http.get(REPORT, params=params, headers=admin)
        assert r.status_code == 422, params
    # agency systems may not read it
    r = await h.gw.http.get(REPORT, headers={"Authorization": f"Bearer {h.sender_key}"})
    assert r.status_code == 403


async def test_cli_writes_the_same_report(make_gateway, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gateway.cli import app as cli
    from gateway.settings import get_settings

    h = await start(make_gateway, at=vn(2026, 11, 19, 9, 0), name=NAME)
    await weekend_outage(h)
    await recover(h)
    admin = await h.gw.admin()
    api_csv = await h.gw.http.get(REPORT, params={"format": "csv"}, headers=admin)
    api_json = (await h.gw.http.get(REPORT, headers=admin)).json()

    settings = h.gw.app.state.settings
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_AUTO_MIGRATE", "false")
    get_settings.cache_clear()
    out = tmp_path / "su-co.csv"
    try:
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["report", "outages", "--output", str(out)]
        )
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == api_csv.content
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["report", "outages", "--format", "json", "--agency", H17]
        )
        assert result.exit_code == 0, result.output
        printed = json.loads(result.stdout_bytes)
        assert printed["incidents"] == api_json["incidents"]
        bad = await asyncio.to_thread(
            CliRunner().invoke, cli, ["report", "outages", "--from", "20/11/2026"]
        )
        assert bad.exit_code != 0
    finally:
        get_settings.cache_clear()
