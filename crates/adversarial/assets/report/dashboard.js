// The dashboard of `gan serve`: the runs under one folder, their state and warnings, and
// one chart comparing any logged curve across the runs ticked. Refreshes every 2 s.
"use strict";
(function () {
  const { el } = GanCharts;
  const cfg = JSON.parse(document.getElementById("data").textContent);
  const chosen = new Set();
  let runs = [];
  let key = null;
  let plot = null;
  let firstLoad = true;

  const root = document.getElementById("app");
  root.textContent = "";
  root.appendChild(el("h1", { text: "Runs in " + cfg.root }));
  const table = el("table", { id: "runs" });
  root.appendChild(table);
  root.appendChild(el("h2", { text: "Compare" }));
  const select = el("select", { id: "key", "aria-label": "curve" });
  const note = el("span", { class: "muted", id: "updated" });
  root.appendChild(el("div", { class: "controls" }, [el("label", { text: "curve " }), select, note]));
  const box = el("div", { class: "chart", id: "compare" });
  root.appendChild(box);

  function url(path, params) {
    const q = new URLSearchParams();
    for (const [k, v] of params || []) q.append(k, v);
    const s = q.toString();
    return cfg.api + path + (s ? "?" + s : "");
  }

  function renderTable() {
    table.textContent = "";
    table.appendChild(el("tr", {}, ["", "run", "status", "iteration", "warnings", ""].map(t =>
      el("th", { class: "text", text: t }))));
    for (const r of runs) {
      const box = el("input", { type: "checkbox", "data-run": r.name });
      box.checked = chosen.has(r.name);
      box.addEventListener("change", () => {
        if (box.checked) chosen.add(r.name); else chosen.delete(r.name);
        refreshChart();
      });
      // one badge per kind of warning; hovering lists each occurrence
      const kinds = Array.from(new Set(r.alerts.map(a => a.kind)));
      const badges = kinds.map(k => {
        const all = r.alerts.filter(a => a.kind === k);
        return el("span", {
          class: "badge " + (k === "non-finite" || k === "stopped" ? "bad" : "warn"),
          title: all.map(a => a.message).join("\n"),
          text: all.length > 1 ? k + " ×" + all.length : k });
      });
      if (badges.length === 0) badges.push(el("span", { class: "badge ok", text: "ok" }));
      const progress = r.steps ? r.step + " / " + r.steps : String(r.step);
      table.appendChild(el("tr", { "data-run": r.name }, [
        el("td", {}, [box]),
        el("td", { class: "text", text: r.name }),
        el("td", { class: "text", text: r.status }),
        el("td", { text: progress }),
        el("td", { class: "text" }, badges),
        el("td", { class: "text" }, [el("a", { href: r.report, text: "report" })]),
      ]));
    }
  }

  function renderKeys() {
    const keys = new Set();
    for (const r of runs) for (const k of r.keys) keys.add(k);
    const list = Array.from(keys).sort();
    if (key === null || !keys.has(key)) {
      key = keys.has("metrics.jsonl:d_loss") ? "metrics.jsonl:d_loss" : (list[0] || null);
    }
    const current = Array.from(select.options).map(o => o.value).join("\n");
    if (current !== list.join("\n")) {
      select.textContent = "";
      for (const k of list) select.appendChild(el("option", { value: k, text: k }));
    }
    if (key !== null) select.value = key;
  }

  async function refreshChart() {
    if (key === null || chosen.size === 0) {
      if (plot) { plot.destroy(); plot = null; }
      box.textContent = chosen.size === 0 ? "Tick runs to compare." : "Nothing logged yet.";
      box.dataset.points = "0";
      return;
    }
    const params = [["key", key]].concat(Array.from(chosen).sort().map(n => ["run", n]));
    const r = await fetch(url("/series", params), { cache: "no-store" });
    if (!r.ok) throw new Error("series: HTTP " + r.status);
    const s = await r.json();
    const chart = { id: "compare", title: key, x_label: "iteration", y_label: key.split(":")[1],
      series: s.series };
    if (!plot) box.textContent = "";
    plot = GanCharts.update(plot, box, chart);
  }

  async function refresh() {
    try {
      const r = await fetch(url("/runs"), { cache: "no-store" });
      if (!r.ok) throw new Error("runs: HTTP " + r.status);
      runs = await r.json();
      if (firstLoad) {
        runs.slice(0, 5).forEach(r => chosen.add(r.name));
        firstLoad = false;
      }
      for (const n of Array.from(chosen)) if (!runs.some(r => r.name === n)) chosen.delete(n);
      renderTable();
      renderKeys();
      await refreshChart();
      note.textContent = "updated " + new Date().toLocaleTimeString() + " — refreshes every 2 s";
      document.body.dataset.runs = String(runs.length);
      document.body.dataset.rendered = "true";
    } catch (e) {
      note.textContent = "cannot reach the server (" + e.message + "); retrying";
    }
    setTimeout(refresh, 2000);
  }

  select.addEventListener("change", () => { key = select.value; refreshChart(); });
  refresh();
})();
