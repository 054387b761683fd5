/* Spot-check charts: one bar chart per item of every prefecture's consumption per protected
   person, flagged prefectures in red, the median as a line. Data and translated labels come
   from json_script tags rendered by Django; ECharts is vendored under static/vendor. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function spotCheckChart(el) {
    var data = readJSON(el.dataset.source);
    var labels = readJSON(el.dataset.labels) || {};
    if (!data || !window.echarts) { return; }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    var bars = data.figures.map(function (value, i) {
      return { value: value, itemStyle: { color: data.flagged[i] ? "#c0392b" : "#5b8db8" } };
    });
    chart.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 20, right: 60, top: 40, bottom: 10, containLabel: true },
      xAxis: { type: "category", data: data.prefectures, axisLabel: { rotate: 45, interval: 0, width: 100, overflow: "truncate" } },
      yAxis: { type: "value", name: labels.figure, nameTextStyle: { align: "left" } },
      series: [{
        name: labels.figure,
        type: "bar",
        data: bars,
        markLine: data.median === null ? undefined : {
          symbol: "none",
          label: { formatter: labels.median },
          data: [{ yAxis: data.median, name: labels.median }]
        }
      }]
    }, true);
    el.dataset.rendered = "1";
  }

  function renderAll(root) {
    (root || document).querySelectorAll('[data-chart="spotcheck"]').forEach(spotCheckChart);
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  window.addEventListener("resize", function () {
    document.querySelectorAll('[data-chart="spotcheck"]').forEach(function (el) {
      var chart = window.echarts && echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
})();
