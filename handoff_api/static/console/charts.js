/**
 * Small SVG charts for the dashboard: a time series (bars with an overlaid bar), horizontal bars
 * and a weekday × hour heat map. No library: every chart is a handful of SVG elements in a
 * viewBox that scales with its container, so it is responsive and needs no inline styles (CSP):
 * colours come from CSS classes (dashboard.css). Values are always set as text, never as HTML.
 */

const NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) node.setAttribute(k, String(v));
  for (const c of children.flat()) if (c != null) node.append(c);
  return node;
}

const title = (text) => svgEl("title", {}, text);

/** A "nice" axis maximum (1, 2, 5 × 10^n) at or above `max`. */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= max);
}

/**
 * Bars per bucket: `total` (e.g. conversations) with `part` (e.g. contained) drawn inside it.
 * rows: [{label, total, part}]; names: {total, part} for the legend and tooltips.
 */
export function timeSeries(svg, rows, names) {
  // drawn at the element's own width, so text keeps its size on a phone and on a wide screen
  const W = Math.max(300, Math.round(svg.clientWidth || 960)), H = 260, L = 36, B = 34, T = 26, R = 8;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.total)));
  const w = (W - L - R) / Math.max(rows.length, 1);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const grid = [0, 0.5, 1].map((f) => [
    svgEl("line", { x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), class: "grid" }),
    svgEl("text", { x: L - 4, y: y(max * f) + 4, class: "axis", "text-anchor": "end" }, String(max * f)),
  ]);
  const every = Math.ceil(rows.length / Math.max(2, Math.floor(W / 70))); // labels ~70 px apart
  const bars = rows.map((r, i) => {
    const x = L + i * w + w * 0.15, bw = w * 0.7;
    return svgEl("g", { class: "bucket", "data-bucket": r.label },
      svgEl("rect", { x, y: y(r.total), width: bw, height: y(0) - y(r.total), class: "bar total" },
        title(`${r.label}: ${names.total} ${r.total}`)),
      svgEl("rect", { x: x + bw * 0.2, y: y(r.part), width: bw * 0.6, height: y(0) - y(r.part), class: "bar part" },
        title(`${r.label}: ${names.part} ${r.part}`)),
      i % every === 0 ? svgEl("text", { x: x + bw / 2, y: H - B + 16, class: "axis", "text-anchor": "middle" },
        shortLabel(r.label)) : null);
  });
  const gap = Math.min(200, (W - L) / 2);
  const legend = svgEl("g", { class: "legend" },
    svgEl("rect", { x: L, y: 4, width: 12, height: 12, class: "bar total" }),
    svgEl("text", { x: L + 16, y: 14, class: "axis" }, names.total),
    svgEl("rect", { x: L + gap, y: 4, width: 12, height: 12, class: "bar part" }),
    svgEl("text", { x: L + gap + 16, y: 14, class: "axis" }, names.part));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren(...grid.flat(), ...bars, legend);
}

/** "2026-11-23" → "23/11"; "2026-11-23T10:00" → "10h". */
function shortLabel(label) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}))?/.exec(label);
  if (!m) return label;
  return m[4] ? `${m[4]}h` : `${m[3]}/${m[2]}`;
}

/**
 * Horizontal bars: rows [{label, value, note}] scaled to the largest value; `note` is printed
 * after the bar (e.g. the containment rate of that channel).
 */
export function horizontalBars(svg, rows) {
  const W = Math.max(300, Math.round(svg.clientWidth || 420)), row = 26, L = 96, R = 120;
  const H = Math.max(row * rows.length, row);
  const max = Math.max(1, ...rows.map((r) => r.value));
  const items = rows.map((r, i) => {
    const width = ((W - L - R) * r.value) / max;
    return svgEl("g", { class: "hrow", "data-key": r.label },
      svgEl("text", { x: L - 6, y: i * row + 17, class: "axis", "text-anchor": "end" }, r.label),
      svgEl("rect", { x: L, y: i * row + 5, width: Math.max(width, 1), height: row - 10, class: "bar total" },
        title(`${r.label}: ${r.value}`)),
      svgEl("text", { x: L + width + 6, y: i * row + 17, class: "axis value" }, `${r.value}${r.note ? ` · ${r.note}` : ""}`));
  });
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren(...items);
}

/** Weekday × hour heat map: `grid[weekday][hour]` counts; `days` = 7 weekday labels. */
export function heatMap(svg, grid, days) {
  const cell = 16, L = 34, T = 16;
  const max = Math.max(1, ...grid.flat());
  const cells = [];
  grid.forEach((hours, d) => hours.forEach((count, h) => {
    // five steps of intensity, each a CSS class (no inline style under the CSP)
    const level = count === 0 ? 0 : Math.min(5, 1 + Math.floor((4 * count) / max));
    cells.push(svgEl("rect", { x: L + h * cell, y: T + d * cell, width: cell - 2, height: cell - 2,
      class: `heat h${level}`, "data-day": d, "data-hour": h, "data-count": count },
    title(`${days[d]} ${String(h).padStart(2, "0")}:00 — ${count}`)));
  }));
  const labels = [
    ...days.map((d, i) => svgEl("text", { x: L - 4, y: T + i * cell + 11, class: "axis", "text-anchor": "end" }, d)),
    ...[0, 6, 12, 18].map((h) => svgEl("text", { x: L + h * cell, y: T - 4, class: "axis" }, `${h}h`)),
  ];
  svg.setAttribute("viewBox", `0 0 ${L + 24 * cell} ${T + 7 * cell}`);
  svg.replaceChildren(...labels, ...cells);
}
