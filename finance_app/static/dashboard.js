// Draws the dashboard charts from the JSON the page embeds (#dashboard-data), with the
// vendored Chart.js (static/vendor): no network needed. Money arrives as decimal strings, each
// chart's in the one currency it names; the axes write it in the page's locale.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const style = getComputedStyle(document.documentElement);
  const css = (name) => style.getPropertyValue(name).trim();
  const GOOD = css("--good"), BAD = css("--bad"), ACCENT = css("--accent");
  const PALETTE = ["#2f6fed", "#17804a", "#b54708", "#b42318", "#7a5af8", "#0e9384",
                   "#c11574", "#667085", "#dc6803", "#3e4784"];

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = css("--muted");
  Chart.defaults.maintainAspectRatio = false;
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
    Chart.defaults.animation = false;
  }

  const money = (value) => Number(value);
  const locale = source.dataset.locale || undefined;
  const moneyTicks = (currency) => {
    const format = new Intl.NumberFormat(locale, {style: "currency", currency: currency,
                                                  maximumFractionDigits: 0});
    return (value) => format.format(value);
  };
  const trend = data.trends.trend, categories = data.categories.categories,
        merchants = data.merchants.merchants;
  const draw = (id, config) => {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  };

  draw("trend-chart", {
    type: "bar",
    data: {
      labels: trend.map((m) => m.month),
      datasets: [
        {label: "Income", data: trend.map((m) => money(m.income)), backgroundColor: GOOD},
        {label: "Expenses", data: trend.map((m) => money(m.expenses)), backgroundColor: BAD},
        {label: "Net", type: "line", data: trend.map((m) => money(m.net)),
         borderColor: ACCENT, backgroundColor: ACCENT, tension: 0.25},
      ],
    },
    options: {scales: {y: {ticks: {callback: moneyTicks(data.trends.currency)}}}},
  });

  draw("category-chart", {
    type: "doughnut",
    data: {
      labels: categories.map((c) => c.category || "Uncategorised"),
      datasets: [{data: categories.map((c) => money(c.total)),
                  backgroundColor: categories.map((_, i) => PALETTE[i % PALETTE.length])}],
    },
    options: {plugins: {legend: {position: "right"}}},
  });

  draw("merchant-chart", {
    type: "bar",
    data: {
      labels: merchants.map((m) => m.merchant),
      datasets: [{label: "Spent", data: merchants.map((m) => money(m.total)),
                  backgroundColor: ACCENT}],
    },
    options: {indexAxis: "y", plugins: {legend: {display: false}},
              scales: {x: {ticks: {callback: moneyTicks(data.merchants.currency)}}}},
  });
})();
