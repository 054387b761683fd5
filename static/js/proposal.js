/* Allocation proposal: days of cover before and after, per prefecture. Data from json_script;
   re-drawn after the htmx preview swaps the tables in. */
(function () {
  "use strict";

  function proposalChart(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [el.dataset.before, el.dataset.after] },
      grid: { left: 20, right: 20, top: 40, bottom: 10, containLabel: true },
      xAxis: { type: "category", data: data.prefectures, axisLabel: { rotate: 30, interval: 0, width: 100, overflow: "truncate" } },
      yAxis: { type: "value" },
      series: [
        { name: el.dataset.before, type: "bar", data: data.before },
        { name: el.dataset.after, type: "bar", data: data.after }
      ]
    }, true);
    el.dataset.rendered = "1";
  }

  function renderAll(root) {
    (root || document).querySelectorAll('[data-chart="proposal"]').forEach(proposalChart);
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
  document.addEventListener("htmx:afterSettle", function () { renderAll(document); });
})();
