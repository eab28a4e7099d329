// The report pages' charts: every element with class "report-chart" holds its ECharts option
// as JSON in data-option (built by city/reports/web/charts.py). No inline script (CSP).
(function () {
  "use strict";

  function draw(element) {
    var option = JSON.parse(element.dataset.option);
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    element.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".report-chart[data-option]").forEach(draw);
  });
}());
