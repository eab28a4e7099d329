// Charts of the console pages: an element with class "chart" and data-src gets an ECharts
// line chart of the JSON at data-src (city/console/pages/kiosk.py `heartbeats`). No inline
// scripts: the Content-Security-Policy allows scripts from the console itself only.
(function () {
  "use strict";

  // Times in the city's time zone (data-tz), like every other time on the page, whatever
  // the browser's own zone.
  function timeFormat(element) {
    var format = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
      timeZone: element.dataset.tz || undefined,
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    });
    return function (value) { return format.format(new Date(value)); };
  }

  function escapeText(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  function heartbeatChart(element, data) {
    if (!data.at.length) {
      element.classList.add("empty");
      element.textContent = element.dataset.empty;
      element.style.height = "auto";
      return;
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    var when = timeFormat(element);
    var outbox = data.at.map(function (at, i) { return [at, data.outbox_depth[i]]; });
    var disk = data.at.map(function (at, i) { return [at, data.free_disk_mb[i]]; });
    chart.setOption({
      animation: false,
      grid: { left: 60, right: 70, top: 40, bottom: 40 },
      tooltip: {
        trigger: "axis",
        formatter: function (points) {
          var lines = [escapeText(when(points[0].value[0]))];
          points.forEach(function (p) {
            var value = p.value[1] === null ? "—" : Math.round(p.value[1]).toLocaleString();
            lines.push(p.marker + escapeText(p.seriesName) + ": <b>" + value + "</b>");
          });
          return lines.join("<br>");
        }
      },
      legend: { data: [element.dataset.outbox, element.dataset.disk], top: 0 },
      xAxis: { type: "time", axisLabel: { formatter: when, hideOverlap: true } },
      yAxis: [
        { type: "value", name: element.dataset.outbox, minInterval: 1 },
        { type: "value", name: element.dataset.disk, position: "right" }
      ],
      series: [
        { name: element.dataset.outbox, type: "line", showSymbol: false, data: outbox, color: "#b3261e" },
        { name: element.dataset.disk, type: "line", yAxisIndex: 1, showSymbol: false, data: disk, color: "#0b5cad" }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    element.dataset.ready = "1";
  }

  function load(element) {
    fetch(element.dataset.src, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) { heartbeatChart(element, data); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".chart[data-src]").forEach(load);
  });
}());
