// The run report: facts, warnings, charts, the sample timeline, evaluations and figures,
// from the JSON in #data. When served live, it polls for new data and redraws.
"use strict";
(function () {
  const { el } = GanCharts;
  let data = JSON.parse(document.getElementById("data").textContent);
  const plots = {};
  let frame = null; // index shown in the timeline; null = follow the newest

  function alertClass(kind) {
    return kind === "non-finite" || kind === "stopped" ? "bad" : "warn";
  }

  function renderHeader(root) {
    root.appendChild(el("h1", { text: data.name }));
    root.appendChild(el("div", { class: "facts" }, data.facts.map(([k, v]) =>
      el("span", {}, [el("b", { text: k + ": " }), document.createTextNode(v)]))));
    const banners = el("div", { id: "alerts" });
    if (data.alerts.length === 0) {
      banners.appendChild(el("div", { class: "banner ok", text: "No collapse or divergence detected in the logs." }));
    }
    for (const a of data.alerts) {
      banners.appendChild(el("div", { class: "banner " + alertClass(a.kind), "data-kind": a.kind,
        text: "⚠ " + a.message }));
    }
    root.appendChild(banners);
  }

  function renderCharts(root) {
    root.appendChild(el("h2", { text: "Curves" }));
    if (data.charts.length === 0) {
      root.appendChild(el("p", { class: "muted", text: "Nothing logged yet." }));
      return;
    }
    const grid = el("div", { class: "charts", id: "charts" });
    root.appendChild(grid);
    for (const c of data.charts) {
      const box = el("div", { class: "chart", id: c.id });
      grid.appendChild(box);
      plots[c.id] = GanCharts.draw(box, c);
    }
  }

  function showFrame(box, i) {
    const f = data.samples[i];
    box.querySelector(".step").textContent = f.label + "  (" + (i + 1) + " of " + data.samples.length + ")";
    const view = box.querySelector(".view");
    view.textContent = "";
    if (f.src) {
      const img = el("img", { src: f.src, alt: "samples at " + f.label });
      // small grids (28-px digits) are enlarged, pixelated; charts keep their own size
      img.addEventListener("load", () => { img.style.width = Math.max(img.naturalWidth, 480) + "px"; });
      view.appendChild(img);
    }
    else view.appendChild(el("pre", { text: f.text }));
  }

  function renderTimeline(root) {
    root.appendChild(el("h2", { text: "Samples over training" }));
    if (data.samples.length === 0) {
      root.appendChild(el("p", { class: "muted", text: "No sample grids saved yet." }));
      return;
    }
    const slider = el("input", { type: "range", min: "0", max: String(data.samples.length - 1),
      value: String(data.samples.length - 1), id: "frame", "aria-label": "training moment" });
    const box = el("div", { class: "timeline", id: "timeline" },
      [slider, el("div", { class: "step" }), el("div", { class: "view" })]);
    root.appendChild(box);
    const i = frame === null ? data.samples.length - 1 : Math.min(frame, data.samples.length - 1);
    slider.value = String(i);
    slider.addEventListener("input", () => {
      frame = Number(slider.value) === data.samples.length - 1 ? null : Number(slider.value);
      showFrame(box, Number(slider.value));
    });
    showFrame(box, i);
  }

  function cell(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
    return String(v);
  }

  function renderEvals(root) {
    if (data.evals.rows.length === 0) return;
    root.appendChild(el("h2", { text: "Evaluations" }));
    root.appendChild(table("evals", data.evals.columns, data.evals.rows));
  }

  function table(id, columns, rows) {
    const head = el("tr", {}, columns.map(c => el("th", { text: c })));
    const body = rows.map(r => el("tr", {}, r.map(v =>
      el("td", { class: typeof v === "string" ? "text" : "", text: cell(v) }))));
    return el("table", { id }, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }

  function renderMemorization(root) {
    const m = data.memorization;
    if (!m.table && m.figures.length === 0) return;
    root.appendChild(el("h2", { text: "Memorization check" }));
    if (m.table) {
      root.appendChild(el("p", { class: "muted", text: m.table.caption +
        ". A ratio near 1 and few samples closer than held-out images mean no copying." }));
      root.appendChild(table("memorization", m.table.columns, m.table.rows));
    }
    root.appendChild(el("div", { class: "figures" }, m.figures.map(f =>
      el("figure", {}, [el("img", { src: f.src, alt: f.caption }), el("figcaption", { text: f.caption })]))));
  }

  function renderFigures(root) {
    if (data.figures.length === 0) return;
    root.appendChild(el("h2", { text: "Figures" }));
    root.appendChild(el("div", { class: "figures" }, data.figures.map(f =>
      el("figure", {}, [el("img", { src: f.src, alt: f.caption }), el("figcaption", { text: f.caption })]))));
  }

  function renderText(root) {
    if (data.config) {
      root.appendChild(el("h2", { text: "Configuration" }));
      root.appendChild(el("details", {}, [el("summary", { text: "config.toml" }),
        el("pre", { class: "text", text: data.config })]));
    }
    if (data.summary) {
      root.appendChild(el("details", {}, [el("summary", { text: "summary.json" }),
        el("pre", { class: "text", text: data.summary })]));
    }
  }

  function render() {
    const root = document.getElementById("app");
    root.textContent = "";
    for (const k of Object.keys(plots)) { plots[k].destroy(); delete plots[k]; }
    renderHeader(root);
    renderCharts(root);
    renderTimeline(root);
    renderEvals(root);
    renderMemorization(root);
    renderFigures(root);
    renderText(root);
    if (data.live) root.appendChild(el("p", { class: "muted", id: "live",
      text: "Live: refreshes every 2 s while the run trains." }));
    document.body.dataset.charts = String(data.charts.length);
    document.body.dataset.frames = String(data.samples.length);
    document.body.dataset.version = data.version;
    document.body.dataset.rendered = "true";
  }

  async function poll() {
    try {
      const r = await fetch(data.live, { cache: "no-store" });
      if (r.ok) {
        const next = await r.json();
        if (next.version !== data.version) {
          const y = window.scrollY;
          data = next;
          render();
          window.scrollTo(0, y);
        }
      }
    } catch (e) {
      // the server stopped; keep the last page
    }
    setTimeout(poll, 2000);
  }

  render();
  if (data.live) setTimeout(poll, 2000);
})();
