// Draws a region's open matters as a scatter on plain longitude/latitude axes (no map tiles,
// nothing fetched from outside the site): one series per category, overdue points outlined red.
(function () {
  "use strict";
  var el = document.getElementById("matters-map");
  var summary = document.getElementById("map-summary");
  if (!el || !window.echarts) return;
  fetch(el.getAttribute("data-points-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    })
    .then(function (data) {
      var byCategory = {};
      var overdue = 0;
      data.points.forEach(function (p) {
        if (p.overdue) overdue += 1;
        (byCategory[p.category] = byCategory[p.category] || []).push({
          value: [p.lng, p.lat],
          id: p.id,
          name: p.place,
          status: data.statuses[p.status] || p.status,
          overdue: p.overdue,
          symbolSize: p.overdue ? 14 : 10,
          itemStyle: p.overdue ? { borderColor: "#c62828", borderWidth: 3 } : {}
        });
      });
      var names = Object.keys(byCategory).sort();
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        legend: { top: 0, type: "scroll", data: names },
        grid: { left: 56, right: 24, top: 48, bottom: 48, containLabel: true },
        tooltip: {
          trigger: "item",
          formatter: function (item) {
            var d = item.data;
            return "#" + d.id + " " + item.seriesName + "<br>" + d.name + " · " + d.status + (d.overdue ? " · 已超时" : "");
          }
        },
        xAxis: { type: "value", name: "经度", scale: true, axisLabel: { formatter: function (v) { return v.toFixed(3); } } },
        yAxis: { type: "value", name: "纬度", scale: true, axisLabel: { formatter: function (v) { return v.toFixed(3); } } },
        series: names.map(function (name) { return { name: name, type: "scatter", data: byCategory[name] }; })
      });
      chart.on("click", function (item) {
        if (item.data && item.data.id) window.location.href = el.getAttribute("data-detail-url").replace("{id}", item.data.id);
      });
      window.addEventListener("resize", function () { chart.resize(); });
      el.setAttribute("data-points", String(data.points.length));
      el.setAttribute("data-rendered", "true");
      if (summary) {
        summary.textContent = "共 " + data.points.length + " 件未办结诉求有位置，其中已超时 " + overdue + " 件" +
          (data.truncated ? "（点数过多，只显示最紧急的一部分）" : "") + "。";
      }
      window.mattersMap = chart;
    })
    .catch(function () {
      if (summary) summary.textContent = "地图数据加载失败，请刷新重试。";
    });
})();
