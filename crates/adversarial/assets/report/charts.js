// Line charts for the report and the dashboard, drawn by uPlot. A chart is
// {id, title, x_label, y_label, series: [{label, x: [...], y: [...]}]}; series may have
// different x values (several runs, or fields logged at different steps).
"use strict";
window.GanCharts = (function () {
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function aligned(chart) {
    // uPlot wants one shared x array; join() aligns the series and fills gaps with null
    const tables = chart.series.map(s => [s.x, s.y]);
    return tables.length ? uPlot.join(tables) : [[]];
  }

  function options(chart, width) {
    return {
      title: chart.title,
      width: width,
      height: 260,
      scales: { x: { time: false } },
      axes: [
        { label: chart.x_label },
        { label: chart.y_label, size: 60 },
      ],
      series: [{ label: chart.x_label }].concat(chart.series.map((s, i) => ({
        label: s.label,
        stroke: palette[i % palette.length],
        width: 1.5,
        spanGaps: true,
        points: { show: s.x.length < 40 },
      }))),
      legend: { live: true },
    };
  }

  // Draws `chart` into `el` (emptied first); returns the uPlot instance.
  function draw(el, chart) {
    el.textContent = "";
    const width = Math.max(320, Math.min((el.clientWidth || 640) - 16, 1600));
    const plot = new uPlot(options(chart, width), aligned(chart), el);
    el.dataset.points = String(chart.series.reduce((n, s) => n + s.x.length, 0));
    return plot;
  }

  // Replaces the data of a drawn chart when only the values changed, else redraws.
  function update(plot, el, chart) {
    const sameShape = plot && plot.series.length === chart.series.length + 1 &&
      chart.series.every((s, i) => plot.series[i + 1].label === s.label);
    if (!sameShape) {
      if (plot) plot.destroy();
      return draw(el, chart);
    }
    plot.setData(aligned(chart));
    el.dataset.points = String(chart.series.reduce((n, s) => n + s.x.length, 0));
    return plot;
  }

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  return { draw, update, el, palette };
})();
