/* Province maps with ECharts: the small map on the overview and on an item's page, and the
   helpers the big screen (screen.js) uses to load a vendored map file.

   Map files (static/vendor/maps/README.md) are GeoJSON named by GB/T 2260 code; the server
   says which region is which prefecture (reports/screen_selectors.py, match_regions), so this
   script never guesses from names. ECharts is loaded when the page has not loaded it already
   (the small map's include brings only this script). */
(function () {
  "use strict";

  var script = document.currentScript;
  var echartsUrl = script ? script.dataset.echarts : null;
  var loadingEcharts = null;
  var loadingMaps = {};

  // Status colours: the pages' light theme and the screen's dark one.
  var COLOURS = {
    light: { red: "#d64545", amber: "#e8a33d", green: "#3aa675", grey: "#c9ced6", none: "#eef0f3", border: "#ffffff", text: "#1f2933" },
    dark: { red: "#ff4d4f", amber: "#ffb020", green: "#22c55e", grey: "#475569", none: "#1e293b", border: "#0b1426", text: "#e6edf7" }
  };

  function ensureEcharts() {
    if (window.echarts) { return Promise.resolve(window.echarts); }
    if (!echartsUrl) { return Promise.reject(new Error("ECharts is not loaded")); }
    if (!loadingEcharts) {
      loadingEcharts = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = echartsUrl;
        tag.onload = function () { resolve(window.echarts); };
        tag.onerror = function () { loadingEcharts = null; reject(new Error("ECharts did not load")); };
        document.head.appendChild(tag);
      });
    }
    return loadingEcharts;
  }

  // Register the map file at `url` under `name` once; resolves with the map's name.
  function loadMap(url, name) {
    if (!loadingMaps[name]) {
      loadingMaps[name] = ensureEcharts().then(function (echarts) {
        if (echarts.getMap(name)) { return name; }
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          if (!response.ok) { throw new Error("map " + url + ": " + response.status); }
          return response.json();
        }).then(function (geoJSON) {
          echarts.registerMap(name, geoJSON);
          return name;
        });
      }).catch(function (error) { delete loadingMaps[name]; throw error; });
    }
    return loadingMaps[name];
  }

  function colourOf(status, theme) {
    var colours = COLOURS[theme || "light"];
    return colours[status] || colours.grey;
  }

  function formatDays(days) {
    return days === null || days === undefined ? "—" : Number(days).toFixed(2);
  }

  // A tooltip's formatter returns HTML (ECharts writes it with innerHTML): names come from
  // the database (the admin's prefectures and counties) and are written as text.
  function escapeHTML(value) {
    return String(value == null ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function readJSON(el) {
    try { return JSON.parse(el.textContent); } catch (error) { return null; }
  }

  // The small map: one item's status per prefecture; a click opens the prefecture's page.
  function renderMini(el) {
    var data = readJSON(el.nextElementSibling);
    if (!data || !data.url) { return; }
    var name = "minimap-" + data.url;
    loadMap(data.url, name).then(function () {
      var labels = data.labels || {};
      var statusWords = labels.status || {};
      var chart = echarts.getInstanceByDom(el) || echarts.init(el);
      var regions = data.prefectures.filter(function (p) { return p.region; });
      chart.setOption({
        tooltip: {
          trigger: "item",
          formatter: function (params) {
            var p = params.data;
            if (!p) { return escapeHTML(params.name); }
            return escapeHTML(p.prefecture) + "<br>" + escapeHTML(statusWords[p.status] || "") + " · " +
              escapeHTML(labels.days_of_cover || "") + " " + formatDays(p.value) + (p.stale ? " *" : "");
          }
        },
        series: [{
          type: "map", map: name, roam: false, selectedMode: false,
          label: { show: false },
          itemStyle: { areaColor: COLOURS.light.none, borderColor: COLOURS.light.border },
          emphasis: { label: { show: true }, itemStyle: { areaColor: "#8fb8de" } },
          data: regions.map(function (p) {
            return {
              name: p.region, value: p.days, status: p.status, code: p.code, prefecture: p.name,
              stale: p.stale, itemStyle: { areaColor: colourOf(p.status, "light") }
            };
          })
        }]
      }, true);
      chart.off("click");
      chart.on("click", function (params) {
        if (params.data && params.data.code && data.prefecture_url) {
          window.location.href = data.prefecture_url.replace("CODE", encodeURIComponent(params.data.code));
        }
      });
      el.dataset.rendered = "1";
    }).catch(function (error) {
      el.dataset.rendered = "error";
      if (window.console) { console.warn(error); }
    });
  }

  function renderAll(root) {
    (root || document).querySelectorAll("[data-minimap]").forEach(renderMini);
  }

  window.SupplyCoordMaps = {
    loadMap: loadMap,
    ensureEcharts: ensureEcharts,
    colourOf: colourOf,
    colours: COLOURS,
    formatDays: formatDays,
    escapeHTML: escapeHTML,
    readJSON: readJSON
  };

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { renderAll(evt.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-minimap]").forEach(function (el) {
      var chart = window.echarts && echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
})();
