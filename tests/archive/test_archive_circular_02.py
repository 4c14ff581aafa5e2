"""The archive bundle carries the metadata fields of Circular 02/2019/TT-BNV for each document,
filled from edXML where it has them, and says which it cannot fill."""

from __future__ import annotations

import json
import zipfile

from test_archive_export import g22_selection

from gateway.archive.bundle import verify_bundle
from gateway.archive.circular_02 import FIELDS
from gateway.archive.cli import export_bundle
from support.seeding import seed


async def test_bundle_has_the_circular_fields(gw, tmp_path) -> None:
    history = await seed(gw)
    bundle = tmp_path / "g22.zip"
    await export_bundle(gw.app.state.settings, g22_selection(), bundle, actor="test")
    with zipfile.ZipFile(bundle) as z:
        meta = json.loads(z.read(f"packages/{history['original']['package_id']}/metadata.json"))
    tt02 = meta["tt02_2019"]
    assert tt02["standard"] == "Thông tư 02/2019/TT-BNV"
    fields = tt02["fields"]
    assert list(fields) == [key for key, _ in FIELDS]  # every field, in the Circular's order
    assert fields["ma_dinh_danh_van_ban"]["value"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert fields["so_van_ban"]["value"] == "7816"
    assert fields["ky_hieu_van_ban"]["value"] == "VPCP-TTĐT"
    assert fields["ten_loai_van_ban"] == {
        "name": "Tên loại văn bản",
        "value": "Công văn",
        "source": "edXML MessageHeader/DocumentType/TypeName",
    }
    assert fields["trich_yeu_noi_dung"]["value"]
    # what edXML cannot fill is said, with why
    for key in ("ma_luu_tru_tai_lieu", "thoi_han_bao_quan", "che_do_su_dung", "tu_khoa"):
        assert key in tt02["missing"]
        assert fields[key]["value"] is None and fields[key]["why_missing"]
    assert "ma_dinh_danh_van_ban" not in tt02["missing"]
    assert verify_bundle(bundle).ok  # still the signed, verifiable bundle
