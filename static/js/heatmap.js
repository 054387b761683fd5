/* The overview's prefecture × key item grid at national scale (issue 13): an ECharts heatmap
   drawn from one compact json_script blob (reports.selectors.overview_heatmap), in the table's
   status colours (read from the CSS variables the .s-red … .s-grey classes use). Hover shows a
   cell's figures; a click opens the prefecture's page, a click on an item's label its page. */
(function () {
  "use strict";

  // The blob's status letters, upper case when the stock is stale; "-": no snapshot row.
  var STATUS = { r: "red", a: "amber", g: "green", n: "grey", "-": "grey" };
  var ORDER = ["red", "amber", "green", "grey"];
  var VISIBLE_ROWS = 40;

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function cssColour(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function days(hundredths) {
    return hundredths === null ? "—" : (hundredths / 100).toFixed(2);
  }

  function escapeHTML(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function heatmap(el) {
    var data = readJSON(el.dataset.source);
    var labels = readJSON(el.dataset.labels) || {};
    if (!data || !window.echarts) { return; }
    var prefectures = data.prefectures, items = data.items;
    var cells = [];
    for (var y = 0; y < prefectures.length; y++) {
      var letters = data.status[y];
      for (var x = 0; x < items.length; x++) {
        cells.push([x, y, ORDER.indexOf(STATUS[letters.charAt(x).toLowerCase()])]);
      }
    }
    var rows = prefectures.length;
    var shown = Math.min(rows, VISIBLE_ROWS);
    el.style.height = (shown * 18 + 150) + "px";
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    var prefectureName = {}, itemName = {};
    prefectures.forEach(function (p) { prefectureName[p[0]] = p[1]; });
    items.forEach(function (i) { itemName[i[0]] = i[1]; });
    chart.setOption({
      animation: false,
      tooltip: {
        position: "top",
        formatter: function (params) {
          var x = params.value[0], y = params.value[1];
          var letter = data.status[y].charAt(x);
          var status = STATUS[letter.toLowerCase()];
          var lines = [
            "<strong>" + escapeHTML(prefectures[y][1]) + " · " + escapeHTML(items[x][2]) + "</strong>"
          ];
          if (letter === "-") {
            lines.push(escapeHTML(labels.no_row));
          } else {
            lines.push(escapeHTML(labels.days_of_cover) + ": " + days(data.days[y][x]) +
              " (" + escapeHTML(labels[status]) + ")");
            var stock = data.stock[y][x];
            lines.push(escapeHTML(labels.stock) + ": " + (stock === null ? "—" : stock.toLocaleString()) +
              (letter !== letter.toLowerCase() ? " *" + escapeHTML(labels.stale) : ""));
          }
          return lines.join("<br>");
        }
      },
      grid: { left: 110, right: 50, top: 90, bottom: 20 },
      xAxis: {
        type: "category", position: "top", triggerEvent: true,
        data: items.map(function (i) { return i[0]; }),
        splitArea: { show: false },
        axisLabel: { interval: 0, rotate: 60, formatter: function (code) { return itemName[code]; } }
      },
      yAxis: {
        type: "category", inverse: true, triggerEvent: true,
        data: prefectures.map(function (p) { return p[0]; }),
        axisLabel: { interval: 0, formatter: function (code) { return prefectureName[code]; } }
      },
      dataZoom: rows > shown ? [{
        type: "slider", yAxisIndex: 0, orient: "vertical", right: 10, width: 18,
        startValue: 0, endValue: shown - 1, showDetail: false, zoomLock: true, brushSelect: false
      }] : [],
      visualMap: {
        type: "piecewise", dimension: 2, show: false,
        pieces: ORDER.map(function (status, index) {
          return { value: index, color: cssColour("--" + status + "-bg", "#eceff1") };
        })
      },
      series: [{
        type: "heatmap", data: cells, progressive: 0,
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        emphasis: { itemStyle: { borderColor: "#333", borderWidth: 1 } }
      }]
    }, true);
    chart.off("click");
    chart.on("click", function (params) {
      if (params.componentType === "series") {
        var code = prefectures[params.value[1]][0];
        window.location.href = el.dataset.prefectureUrl.replace("__code__", encodeURIComponent(code));
      } else if (params.componentType === "xAxis") {
        window.location.href = el.dataset.itemUrl.replace("__code__", encodeURIComponent(params.value));
      } else if (params.componentType === "yAxis") {
        window.location.href = el.dataset.prefectureUrl.replace("__code__", encodeURIComponent(params.value));
      }
    });
    el.dataset.rendered = "1";
  }

  function renderAll(root) {
    (root || document).querySelectorAll('[data-chart="heatmap"]').forEach(heatmap);
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { renderAll(evt.target); });
})();
