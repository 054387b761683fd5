/* Charts on SupplyCoord pages. Data and translated labels come from json_script tags
   rendered by Django; ECharts is vendored under static/vendor. Re-runs after htmx swaps. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function trendChart(el) {
    var data = readJSON(el.dataset.source);
    var labels = readJSON(el.dataset.labels) || {};
    if (!data || !window.echarts) { return; }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [labels.stock, labels.consumption, labels.demand] },
      grid: { left: 70, right: 70, top: 50, bottom: 30 },
      xAxis: { type: "category", data: data.dates.map(function (d) { return d.slice(5); }) },
      // Stock is many days of consumption: give it its own axis so the daily flows stay readable.
      yAxis: [
        { type: "value", name: labels.stock, position: "left" },
        { type: "value", name: labels.consumption + " / " + labels.demand, position: "right", splitLine: { show: false } }
      ],
      series: [
        { name: labels.stock, type: "line", yAxisIndex: 0, data: data.stock, connectNulls: false, areaStyle: { opacity: 0.08 } },
        { name: labels.consumption, type: "line", yAxisIndex: 1, data: data.consumption },
        { name: labels.demand, type: "line", yAxisIndex: 1, data: data.demand, lineStyle: { type: "dashed" } }
      ]
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
