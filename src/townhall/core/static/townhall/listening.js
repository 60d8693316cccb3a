// Listening pages: the topic and share-of-voice charts from embedded JSON, saving a query from the keyboard,
// and a confirmation before anything is deleted.
"use strict";

(function () {
  const SENTIMENT = [
    ["positive", "Positive", "#12b76a"],
    ["neutral", "Neutral", "#98a2b3"],
    ["negative", "Negative", "#f04438"],
    ["unscored", "Not scored", "#d0d5dd"],
  ];
  const PALETTE = ["#4f46e5", "#f79009", "#0ba5ec", "#ee46bc", "#16b364", "#875bf7", "#ef6820", "#667085"];

  function data(id) {
    const source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }

  // Buckets are UTC hours or days; people read them in the workspace's time zone.
  function labeller(chart) {
    const hourly = chart.granularity === "hour";
    const options = hourly
      ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: chart.tz }
      : { month: "short", day: "numeric", timeZone: "UTC" };
    return (iso) => new Date(iso).toLocaleString(undefined, options);
  }

  function axes(yOptions) {
    return {
      x: { stacked: true, grid: { display: false }, ticks: { maxTicksLimit: 10, color: "#667085", maxRotation: 0 } },
      y: Object.assign({ stacked: true, beginAtZero: true, grid: { color: "#eef0f3" }, ticks: { color: "#667085" } }, yOptions),
    };
  }

  function drawTopic() {
    const canvas = document.getElementById("topic-chart");
    const chart = data("topic-data");
    if (!canvas || !chart || typeof Chart === "undefined") return;
    const label = labeller(chart);
    const datasets = SENTIMENT.filter(([key]) => chart[key].some((n) => n > 0) || key !== "unscored").map(
      ([key, name, colour]) => ({ label: name, data: chart[key], backgroundColor: colour, borderRadius: 2 })
    );
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels.map(label), datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: axes({ ticks: { precision: 0, maxTicksLimit: 5, color: "#667085" } }),
      },
    });
  }

  function drawShareOfVoice() {
    const canvas = document.getElementById("sov-chart");
    const chart = data("sov-data");
    if (!canvas || !chart || typeof Chart === "undefined") return;
    const label = labeller(chart);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels.map(label),
        datasets: chart.topics.map((topic, i) => ({
          label: topic.name,
          data: topic.shares,
          backgroundColor: PALETTE[i % PALETTE.length],
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.formattedValue}%` } },
        },
        scales: axes({ max: 100, ticks: { callback: (value) => `${value}%`, maxTicksLimit: 5, color: "#667085" } }),
      },
    });
  }

  // Ctrl+Enter (Cmd+Enter) in the query box saves the query.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const box = event.target.closest && event.target.closest("#query-form textarea");
    if (box) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });

  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", () => {
    drawTopic();
    drawShareOfVoice();
  });
})();
