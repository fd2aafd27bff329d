// Draws the flag dashboard's last hour (#last-hour-data): per cohort, a stacked bar per
// minute of its denials, refusals and errors, with the vendored Chart.js (no network). The
// table under the charts holds the same numbers.
(function () {
  "use strict";
  const source = document.getElementById("last-hour-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const style = getComputedStyle(document.documentElement);
  const COLORS = {
    denied_401: "#667085", denied_404: "#dc6803", denied_429: "#7a5af8",
    guard_refusal: style.getPropertyValue("--bad").trim(), policy_refusal: "#c11574",
    error_5xx: "#3e4784",
  };

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = style.getPropertyValue("--muted").trim();
  Chart.defaults.maintainAspectRatio = false;
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    Chart.defaults.animation = false;
  }

  document.querySelectorAll("canvas[data-last-hour-cohort]").forEach((canvas) => {
    const cohort = data.cohorts[Number(canvas.dataset.lastHourCohort)];
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.minutes,
        // Only the kinds this cohort had: the legend names what the bars show.
        datasets: data.kinds.filter((kind) => cohort.totals[kind.key] > 0).map((kind) => ({
          label: kind.label, data: cohort.counts[kind.key], backgroundColor: COLORS[kind.key],
        })),
      },
      options: {
        scales: {x: {stacked: true, ticks: {maxTicksLimit: 7}},
                 y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {position: "bottom", labels: {boxWidth: 12}}},
      },
    });
  });
})();
