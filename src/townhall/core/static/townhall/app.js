// Small behaviours of Townhall's pages: charts from embedded JSON, tidy filter URLs, the workspace menu.
"use strict";

function drawVolumeChart() {
  const canvas = document.getElementById("volume-chart");
  const source = document.getElementById("volume-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const rows = JSON.parse(source.textContent);
  const label = (day) =>
    new Date(day + "T00:00:00Z").toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map((row) => label(row.day)),
      datasets: [{ label: "Items", data: rows.map((row) => row.items), backgroundColor: "#6366f1", borderRadius: 3 }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { grid: { display: false }, ticks: { maxTicksLimit: 10, color: "#667085" } },
        y: { beginAtZero: true, ticks: { precision: 0, maxTicksLimit: 4, color: "#667085" }, grid: { color: "#eef0f3" } },
      },
    },
  });
}

// Empty filter fields would otherwise fill the pushed URL with `q=&network=&...`.
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get") return;
  const form = event.detail.formData;
  const empty = Array.from(form.entries()).filter(([, value]) => value === "").map(([name]) => name);
  for (const name of empty) form.delete(name);
});

// The workspace menu closes when the user clicks anywhere else.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.switcher[open]")) {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  }
});

document.addEventListener("DOMContentLoaded", drawVolumeChart);
