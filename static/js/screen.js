/* The big screen (大屏, /screen/): one ECharts map of the province, coloured by the status of
   one key item at a time (rotating every `rotate` seconds, or pinned), and three parts that
   htmx fetches again every `poll` seconds (templates/reports/screen.html).

   Refresh: each part is sent back its ETag in If-None-Match; an unchanged part answers 304,
   which htmx is told not to swap. A part that fails (an error status, no network, a timeout)
   keeps its content; the header says since when it has not been updated.
   Drill-down: a click on a prefecture draws its counties and shows its own figures beside;
   "Back to the province" (or Escape) returns. */
(function () {
  "use strict";

  var Maps = window.SupplyCoordMaps;
  var config = null;
  var labels = {};
  var chart = null;
  var data = null; // the build part's blob (reports/screen_selectors.py, screen_build)
  var index = 0;
  var pinned = false;
  var drilled = null; // the prefecture code drilled into, or null
  var lastOk = {}; // part name -> Date of its last answer (200 or 304)

  function $(id) { return document.getElementById(id); }

  function hhmm(date, seconds) {
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return pad(date.getHours()) + ":" + pad(date.getMinutes()) + (seconds ? ":" + pad(date.getSeconds()) : "");
  }

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  // --- The item shown ---------------------------------------------------------------------

  function items() { return (data && data.items) || []; }

  function currentCode() {
    var item = items()[index];
    return item ? item[0] : null;
  }

  function showItem(i) {
    var list = items();
    if (!list.length) { index = 0; render(); return; }
    index = ((i % list.length) + list.length) % list.length;
    render();
  }

  function setPinned(value) {
    pinned = value;
    var button = $("screen-pin");
    button.setAttribute("aria-pressed", pinned ? "true" : "false");
    button.textContent = pinned ? labels.unpin : labels.pin;
    var url = new URL(window.location.href);
    if (pinned && currentCode()) { url.searchParams.set("item", currentCode()); } else { url.searchParams.delete("item"); }
    window.history.replaceState(null, "", url.toString());
    renderRotation();
  }

  function renderRotation() {
    var list = items();
    $("screen-rotation").textContent = list.length
      ? (index + 1) + " / " + list.length + (pinned ? " · " + labels.pinned : "")
      : "";
  }

  // --- Drawing ------------------------------------------------------------------------------

  function statusOf(p, column) {
    var letter = (data.status[p] || "")[column] || "-";
    return { r: "red", a: "amber", g: "green", n: "grey", "-": "grey" }[letter.toLowerCase()];
  }

  function daysOf(p, column) {
    var hundredths = (data.days[p] || [])[column];
    return hundredths === null || hundredths === undefined ? null : hundredths / 100;
  }

  // A prefecture's name as a map label: an autonomous prefecture by its place name
  // (临夏回族自治州 → 临夏, Linxia Hui Autonomous Prefecture → Linxia); the tooltip and the
  // side panel give the full name.
  function shortName(name) {
    if (/自治州$/.test(name)) { return name.slice(0, 2); }
    if (/ Autonomous /.test(name)) { return name.split(" ")[0]; }
    return name;
  }

  // Overlapping labels: ECharts' own hideOverlap keeps the larger region's, which hid the
  // amber 临夏 behind green neighbours. So the map is laid out once with every label, their
  // boxes are kept (placeLabel), and placeLabels hides, among overlapping labels, those of the
  // better status (red, amber, no data, green; fewer days first among equals) by moving them
  // off the canvas; a hidden region's tooltip still names it.
  var labelBoxes = {};
  var hiddenLabels = {};

  function placeLabel(params) {
    labelBoxes[params.dataIndex] = params.labelRect;
    return hiddenLabels[params.dataIndex] ? { x: -10000, y: -10000 } : {};
  }

  var SEVERITY = { red: 0, amber: 1, grey: 2, green: 3 };

  function placeLabels(regions) {
    var order = regions.map(function (_r, i) { return i; }).sort(function (a, b) {
      var ra = regions[a], rb = regions[b];
      return (SEVERITY[ra.status] - SEVERITY[rb.status]) ||
        ((ra.value === null ? Infinity : ra.value) - (rb.value === null ? Infinity : rb.value)) || (a - b);
    });
    var kept = [];
    var hidden = {};
    order.forEach(function (i) {
      var box = labelBoxes[i];
      if (!box) { return; }
      var clash = kept.some(function (k) {
        return box.x < k.x + k.width && k.x < box.x + box.width && box.y < k.y + k.height && k.y < box.y + box.height;
      });
      if (clash) { hidden[i] = true; } else { kept.push(box); }
    });
    return hidden;
  }

  function provinceOption(column) {
    var regions = [];
    data.prefectures.forEach(function (prefecture, p) {
      if (!prefecture.region) { return; }
      var status = statusOf(p, column);
      regions.push({
        name: prefecture.region, value: daysOf(p, column), code: prefecture.code,
        prefecture: prefecture.name, status: status,
        stale: ((data.status[p] || "")[column] || "") !== ((data.status[p] || "")[column] || "").toLowerCase(),
        itemStyle: { areaColor: Maps.colourOf(status, "dark") }
      });
    });
    return {
      backgroundColor: "transparent",
      tooltip: {
        trigger: "item", textStyle: { fontSize: 22 },
        formatter: function (params) {
          var d = params.data;
          // HTML (ECharts' innerHTML): the names are written as text.
          if (!d) { return Maps.escapeHTML(params.name); }
          return Maps.escapeHTML(d.prefecture) + "<br>" + Maps.escapeHTML(labels.status[d.status] || "") + " · " + Maps.escapeHTML(labels.days_of_cover) + " " + Maps.formatDays(d.value) + (d.stale ? " *" : "");
        }
      },
      series: [{
        id: "regions", type: "map", map: config.map_name, roam: false, selectedMode: false,
        layoutCenter: ["50%", "50%"], layoutSize: "96%",
        itemStyle: { areaColor: Maps.colours.dark.none, borderColor: Maps.colours.dark.border, borderWidth: 1.5 },
        label: {
          show: true, color: "#f8fafc", textBorderColor: "#0b1426", textBorderWidth: 3, lineHeight: 20,
          formatter: function (params) {
            var d = params.data;
            return d ? "{n|" + shortName(d.prefecture).replace(/市$/, "") + "} {d|" + Maps.formatDays(d.value) + "}" : "{n|" + shortName(params.name) + "}";
          },
          rich: {
            n: { fontSize: 18, color: "#e2e8f0", textBorderColor: "#0b1426", textBorderWidth: 3 },
            d: { fontSize: 20, fontWeight: 700, color: "#ffffff", textBorderColor: "#0b1426", textBorderWidth: 3 }
          }
        },
        // One line a label, so that close neighbours (兰州, 白银, 定西) fit above each other; where
        // labels still overlap, the worse status keeps its label (placeLabels).
        labelLayout: placeLabel,
        emphasis: { label: { color: "#ffffff" }, itemStyle: { areaColor: "#60a5fa" } },
        data: regions
      }]
    };
  }

  function renderUnmapped(column) {
    document.querySelectorAll("#screen-unmapped li[data-index]").forEach(function (li) {
      var p = Number(li.dataset.index);
      var status = statusOf(p, column);
      li.className = "s-" + status;
      var days = li.querySelector(".days");
      if (days) { days.textContent = Maps.formatDays(daysOf(p, column)); }
    });
  }

  function render() {
    if (!data) { return; }
    var code = currentCode();
    var item = items()[index];
    document.querySelectorAll("#screen-items .screen-item").forEach(function (section) {
      section.hidden = section.dataset.item !== code;
    });
    if (!drilled) {
      // The short name on the map's title; the full one heads the figures beside it.
      $("screen-item-name").textContent = item ? item[1] + (data.units[index] ? " · " + data.units[index] : "") : "";
    }
    renderRotation();
    renderUnmapped(index);
    if (chart && !drilled && config.map_url) {
      var option = provinceOption(index);
      hiddenLabels = {};
      labelBoxes = {};
      chart.setOption(option, true);
      // The first layout measured every label: lay out again with the overlapping ones hidden.
      hiddenLabels = placeLabels(option.series[0].data);
      if (Object.keys(hiddenLabels).length) { chart.setOption(option, true); }
      var el = $("screen-map");
      el.dataset.item = code || "";
      el.dataset.rendered = "1";
    }
  }

  function readData() {
    var el = $("screen-data");
    var fresh = el ? Maps.readJSON(el) : null;
    if (!fresh) { return; }
    var code = currentCode();
    data = fresh;
    // Stay on the item shown (a build may add or drop key items).
    var found = items().findIndex(function (item) { return item[0] === code; });
    index = found >= 0 ? found : Math.min(index, Math.max(0, items().length - 1));
  }

  // --- Drill-down ---------------------------------------------------------------------------

  function drill(code) {
    if (!code) { return; }
    drilled = code;
    var url = config.prefecture_url.replace("CODE", encodeURIComponent(code));
    htmx.ajax("GET", url, { target: "#screen-drill", swap: "innerHTML" }).then(function () {
      if (drilled !== code) { return; }
      var panel = $("screen-drill");
      panel.hidden = false;
      $("screen-items").hidden = true;
      setDrilledControls(true);
      var row = panel.querySelector('tr[data-item="' + currentCode() + '"]');
      if (row) { row.classList.add("current"); }
      var counties = Maps.readJSON($("screen-county-map")) || {};
      $("screen-item-name").textContent = counties.name || code;
      if (!counties.url) { chart.clear(); return; }
      return Maps.loadMap(counties.url, "counties-" + code).then(function (name) {
        if (drilled !== code) { return; }
        chart.setOption({
          tooltip: { trigger: "item", textStyle: { fontSize: 22 } },
          series: [{
            id: "counties", type: "map", map: name, roam: false, selectedMode: false,
            layoutCenter: ["50%", "50%"], layoutSize: "92%",
            itemStyle: { areaColor: "#1e3a5f", borderColor: "#93c5fd", borderWidth: 1.5 },
            label: {
              show: true, color: "#f8fafc", fontSize: 20, textBorderColor: "#0b1426", textBorderWidth: 3,
              // Our county's name in the reader's language, not the map file's Chinese one.
              formatter: function (params) { return params.data ? params.data.label : params.name; }
            },
            tooltip: { formatter: function (params) { return Maps.escapeHTML(params.data ? params.data.label : params.name); } },
            labelLayout: { hideOverlap: true },
            emphasis: { itemStyle: { areaColor: "#2563eb" } },
            data: (counties.counties || []).filter(function (c) { return c.region; }).map(function (c) {
              return { name: c.region, code: c.code, label: c.name };
            })
          }]
        }, true);
        $("screen-map").dataset.drilled = code;
      });
    }).catch(function (error) { if (window.console) { console.warn(error); } });
  }

  // While drilled into a prefecture the item controls do nothing: only "back" shows.
  function setDrilledControls(on) {
    ["screen-prev", "screen-next", "screen-pin", "screen-rotation"].forEach(function (id) { $(id).hidden = on; });
    $("screen-back").hidden = !on;
  }

  function back() {
    drilled = null;
    $("screen-drill").hidden = true;
    $("screen-drill").innerHTML = "";
    $("screen-items").hidden = false;
    setDrilledControls(false);
    delete $("screen-map").dataset.drilled;
    render();
  }

  // --- Refresh: ETags, 304s and stale parts --------------------------------------------------

  function partOf(elt) { return elt && elt.closest ? elt.closest(".screen-part") : null; }

  function renderStale() {
    var stale = [];
    document.querySelectorAll(".screen-part[data-stale-since]").forEach(function (part) {
      stale.push(part.dataset.staleSince);
    });
    var marker = $("screen-stale");
    if (!stale.length) { marker.hidden = true; marker.textContent = ""; return; }
    stale.sort();
    marker.hidden = false;
    marker.textContent = "⚠ " + fill(labels.stale_since, { time: stale[0] });
  }

  function markOk(part) {
    lastOk[part.dataset.part] = new Date();
    delete part.dataset.staleSince;
    $("screen-updated").textContent = fill(labels.updated, { time: hhmm(new Date(), true) });
    renderStale();
  }

  function markFailed(part) {
    if (!part.dataset.staleSince) {
      part.dataset.staleSince = hhmm(lastOk[part.dataset.part] || new Date(), false);
    }
    renderStale();
  }

  function listenForRefresh() {
    // 304: the part has not changed; not an error, nothing to swap.
    htmx.config.responseHandling = [{ code: "304", swap: false }].concat(htmx.config.responseHandling);
    htmx.config.timeout = 30000;
    document.body.addEventListener("htmx:configRequest", function (evt) {
      var part = partOf(evt.detail.elt);
      if (part && part === evt.detail.elt && part.dataset.etag) {
        evt.detail.headers["If-None-Match"] = part.dataset.etag;
      }
    });
    document.body.addEventListener("htmx:afterRequest", function (evt) {
      var part = partOf(evt.detail.elt);
      if (!part || part !== evt.detail.elt) { return; }
      var xhr = evt.detail.xhr;
      var status = xhr ? xhr.status : 0;
      if (status === 200) {
        part.dataset.etag = xhr.getResponseHeader("ETag") || "";
        markOk(part);
      } else if (status === 304 || status === 204) {
        markOk(part);
      } else {
        markFailed(part);
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (evt) {
      if (evt.detail.target && evt.detail.target.id === "part-build") {
        readData();
        render();
      }
    });
  }

  // --- Start ----------------------------------------------------------------------------------

  function start() {
    config = Maps.readJSON($("screen-config"));
    labels = config.labels;
    var started = new Date();
    document.querySelectorAll(".screen-part").forEach(function (part) { lastOk[part.dataset.part] = started; });
    readData();
    if (config.pinned) {
      var found = items().findIndex(function (item) { return item[0] === config.pinned; });
      if (found >= 0) { index = found; pinned = true; }
    }
    $("screen-pin").textContent = pinned ? labels.unpin : labels.pin;
    $("screen-pin").setAttribute("aria-pressed", pinned ? "true" : "false");
    listenForRefresh();

    $("screen-prev").addEventListener("click", function () { if (!drilled) { showItem(index - 1); } });
    $("screen-next").addEventListener("click", function () { if (!drilled) { showItem(index + 1); } });
    $("screen-pin").addEventListener("click", function () { setPinned(!pinned); });
    $("screen-back").addEventListener("click", back);
    $("screen-fullscreen").addEventListener("click", function () {
      if (document.fullscreenElement) { document.exitFullscreen(); } else if (document.documentElement.requestFullscreen) { document.documentElement.requestFullscreen(); }
    });
    document.addEventListener("keydown", function (evt) {
      if (evt.key === "ArrowLeft" && !drilled) { showItem(index - 1); }
      if (evt.key === "ArrowRight" && !drilled) { showItem(index + 1); }
      if (evt.key === "Escape" && drilled) { back(); }
    });
    document.addEventListener("click", function (evt) {
      var button = evt.target.closest ? evt.target.closest("#screen-unmapped li[data-code] button") : null;
      if (button) { drill(button.closest("li").dataset.code); }
    });

    function tick() { $("screen-clock").textContent = hhmm(new Date(), true); }
    tick();
    setInterval(tick, 1000);
    setInterval(function () {
      if (!pinned && !drilled && items().length > 1) { showItem(index + 1); }
    }, config.rotate * 1000);

    var el = $("screen-map");
    if (!config.map_url) {
      el.textContent = labels.no_map;
      render();
      return;
    }
    Maps.ensureEcharts().then(function (echarts) {
      chart = echarts.init(el, null, { renderer: "canvas" });
      chart.on("click", function (params) { if (params.data && params.data.code && !drilled) { drill(params.data.code); } });
      window.addEventListener("resize", function () { chart.resize(); });
      return Maps.loadMap(config.map_url, config.map_name);
    }).then(render).catch(function (error) {
      el.dataset.rendered = "error";
      if (window.console) { console.error(error); }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
