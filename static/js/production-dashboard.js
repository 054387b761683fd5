/* Charts of the production dashboard. Data and translated labels come from json_script tags
   rendered by Django; ECharts is vendored under static/vendor. No inline scripts. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function shortDates(dates) {
    return dates.map(function (d) { return d.slice(5); });
  }

  function capacityChart(el) {
    var data = readJSON(el.dataset.source);
    var labels = readJSON(el.dataset.labels) || {};
    if (!data || !window.echarts) { return; }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [labels.capacity, labels.output, labels.consumption] },
      grid: { left: 80, right: 30, top: 50, bottom: 30 },
      xAxis: { type: "category", data: shortDates(data.dates) },
      yAxis: { type: "value" },
      series: [
        { name: labels.capacity, type: "line", step: "end", data: data.capacity, areaStyle: { opacity: 0.08 } },
        // Symbols always: a day reported between unreported ones is a lone point, not a line.
        { name: labels.output, type: "line", data: data.output, connectNulls: false, showSymbol: true, symbolSize: 6 },
        { name: labels.consumption, type: "line", data: data.consumption, connectNulls: false, lineStyle: { type: "dashed" } }
      ]
    }, true);
    el.dataset.rendered = "1";
  }

  function resumptionChart(el) {
    var data = readJSON(el.dataset.source);
    var labels = readJSON(el.dataset.labels) || {};
    if (!data || !window.echarts) { return; }
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: [labels.share] },
      grid: { left: 60, right: 30, top: 50, bottom: 30 },
      xAxis: { type: "category", data: shortDates(data.dates) },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: labels.share, type: "line", step: "end", data: data.share, areaStyle: { opacity: 0.1 } }
      ]
    }, true);
    el.dataset.rendered = "1";
  }

  function renderAll(root) {
    (root || document).querySelectorAll('[data-chart="production-capacity"]').forEach(capacityChart);
    (root || document).querySelectorAll('[data-chart="production-resumption"]').forEach(resumptionChart);
  }

  // The item picker shows the chosen item at once; its button stays for keyboards and no-JS.
  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { renderAll(document); autosubmit(); });
  document.addEventListener("htmx:afterSettle", function (evt) { renderAll(evt.target); });
})();
