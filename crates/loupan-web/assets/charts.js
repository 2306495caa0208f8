// Draws the charts of Loupan's report pages with Chart.js (vendored in
// assets/vendor, MIT): each `<canvas data-chart='{...}'>` carries what it
// shows, written by the page from the same figures as the table beside it.
// The table stays the record; without scripts it is all there is.
//
// data-chart: {"kind": "bar" | "stacked" | "line", "labels": [...],
//   "series": [{"label": "...", "data": [...]}, ...], "unit": "%" (optional),
//   "horizontal": true (optional), "min": 0, "max": 100 (optional)}
(() => {
  if (typeof Chart === "undefined") return;
  const palette = ["#1f5fa8", "#2e7d32", "#b3261e", "#e08a00", "#6a3fa0", "#00838f", "#8d6e63", "#5f6b7a"];
  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    let spec;
    try {
      spec = JSON.parse(canvas.dataset.chart);
    } catch (_) {
      continue;
    }
    const stacked = spec.kind === "stacked";
    const line = spec.kind === "line";
    const unit = spec.unit || "";
    const datasets = spec.series.map((s, i) => ({
      label: s.label,
      data: s.data,
      backgroundColor: palette[i % palette.length],
      borderColor: palette[i % palette.length],
      borderWidth: line ? 2 : 0,
      spanGaps: true,
      tension: 0,
    }));
    const valueAxis = {
      stacked,
      beginAtZero: true,
      ticks: { callback: (v) => `${v}${unit}` },
    };
    if (spec.min !== undefined) valueAxis.min = spec.min;
    if (spec.max !== undefined) valueAxis.max = spec.max;
    const labelAxis = { stacked };
    const horizontal = Boolean(spec.horizontal);
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: spec.labels, datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { display: spec.series.length > 1, position: "bottom" },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.formattedValue}${unit}` } },
        },
      },
    });
    canvas.dataset.drawn = "true";
  }
})();
