// Draws the dashboard's charts from the numbers the server put in #chart-data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var charts = [];
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ animation: false, tooltip: { trigger: "axis" }, grid: { left: 48, right: 16, top: 48, bottom: 48, containLabel: true } }, option, { legend: Object.assign({ top: 0, type: "scroll" }, option.legend || {}) }));
    el.setAttribute("data-rendered", "true");
    charts.push(chart);
  }
  if (data.coverage) {
    draw("chart-coverage", {
      legend: { data: ["户覆盖率", "居民覆盖率", "党员亮身份率"] },
      xAxis: { type: "category", data: data.coverage.names, axisLabel: { interval: 0, rotate: data.coverage.names.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: "户覆盖率", type: "bar", data: data.coverage.household_rate },
        { name: "居民覆盖率", type: "bar", data: data.coverage.resident_rate },
        { name: "党员亮身份率", type: "bar", data: data.coverage.party_rate || [] }
      ]
    });
  }
  if (data.coverage_trend) {
    draw("chart-coverage-trend", {
      legend: { data: ["已加入户数", "已加入居民", "亮身份党员"] },
      xAxis: { type: "category", data: data.coverage_trend.periods },
      yAxis: { type: "value" },
      series: [
        { name: "已加入户数", type: "line", data: data.coverage_trend.households_joined },
        { name: "已加入居民", type: "line", data: data.coverage_trend.residents_joined },
        { name: "亮身份党员", type: "line", data: data.coverage_trend.party_members }
      ]
    });
  }
  (data.extra || []).forEach(function (spec) { draw(spec.id, spec.option); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.consoleCharts = charts;
})();
