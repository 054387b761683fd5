/* Charts on SupplyCoord pages. Data and translated labels come from json_script tags
   rendered by Django; ECharts is vendored under static/vendor. Re-runs after htmx swaps. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // Days whose province figure is partial (reports.md "Coverage") get a grey column behind
  // the lines, a bar as wide as the day on a hidden 0..1 axis, so a sum over the few
  // prefectures that reported does not read as a fall. None when no day is partial.
  function partialSeries(data, labels) {
    var flags = data.partial || [];
    if (!flags.some(Boolean)) { return []; }
    return [{
      name: labels.partial, type: "bar", yAxisIndex: 2, silent: true, barWidth: "100%",
      barGap: "-100%", z: 0, itemStyle: { color: "rgba(128,128,128,0.18)" },
      tooltip: { show: false },
      data: flags.map(function (flag) { return flag ? 1 : null; })
    }];
  }

  function trendChart(el) {
    var data = readJSON(el.dataset.source);
    var labels = readJSON(el.dataset.labels) || {};
    if (!data || !window.echarts) { return; }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [labels.stock, labels.consumption, labels.demand].concat((data.partial || []).some(Boolean) ? [labels.partial] : []) },
      grid: { left: 70, right: 70, top: 50, bottom: 30 },
      xAxis: { type: "category", data: data.dates.map(function (d) { return d.slice(5); }) },
      // Stock is many days of consumption: give it its own axis so the daily flows stay readable.
      yAxis: [
        { type: "value", name: labels.stock, position: "left" },
        { type: "value", name: labels.consumption + " / " + labels.demand, position: "right", splitLine: { show: false } },
        { type: "value", min: 0, max: 1, show: false }
      ],
      series: [
        { name: labels.stock, type: "line", yAxisIndex: 0, data: data.stock, connectNulls: false, areaStyle: { opacity: 0.08 } },
        { name: labels.consumption, type: "line", yAxisIndex: 1, data: data.consumption },
        { name: labels.demand, type: "line", yAxisIndex: 1, data: data.demand, lineStyle: { type: "dashed" } }
      ].concat(partialSeries(data, labels))
    }, true);
    el.dataset.rendered = "1";
  }

  function renderAll(root) {
    (root || document).querySelectorAll('[data-chart="trend"]').forEach(trendChart);
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { renderAll(evt.target); });
  window.addEventListener("resize", function () {
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var chart = window.echarts && echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
})();
