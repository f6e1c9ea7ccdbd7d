/**
 * The supervisors' dashboard: headline tiles, a time series, breakdowns by channel and language,
 * an hourly heat map, handoff reasons and unanswered questions for a date range, plus live queue
 * numbers. Data from /api/dashboard/* (supervisors only; definitions in docs/metrics.md).
 */
import { ApiError, get } from "./api.js";
import { getLang, setLang } from "./i18n.js";
import { d, number, percent, reasonLabel, seconds } from "./dashboard-i18n.js";
import { heatMap, horizontalBars, timeSeries } from "./charts.js";
import { el, toast } from "./dom.js";
import { renderAgents, startAgentsPanel } from "./agents-panel.js";

const $ = (id) => document.getElementById(id);
const LIVE_EVERY_MS = 15000;
let data = null;
let live = null;

function applyStatic() {
  for (const n of document.querySelectorAll("[data-d]")) n.textContent = d(n.dataset.d);
  document.title = d("title");
  document.documentElement.lang = getLang();
}

/** The range's days. Empty fields (the first load) let the server pick the store's last 7 days:
 * "today" is the store's (BUSINESS_TZ), not the browser's, so a supervisor in another time zone
 * never gets a range that ends before the store's day does. */
function query() {
  const params = new URLSearchParams();
  if ($("f-start").value) params.set("start", $("f-start").value);
  if ($("f-end").value) params.set("end", $("f-end").value);
  if ($("f-channel").value) params.set("channel", $("f-channel").value);
  if ($("f-language").value) params.set("language", $("f-language").value);
  if ($("f-market").value) params.set("market", $("f-market").value);
  return params;
}

function tile(id, big, sub) {
  const node = $(id);
  node.querySelector(".big").textContent = big;
  node.querySelector(".sub").textContent = sub;
}

const label = (table, key) => {
  const text = d(`${table}.${key}`);
  return text === `${table}.${key}` ? key : text;
};

function render() {
  if (!data) return;
  const m = data;
  const c = m.containment;
  tile("tile-conversations", number(m.conversations), d("handoffs", { n: number(m.handoffs) }));
  tile("tile-containment", percent(c.rate),
    `${d("of", { n: number(c.contained), d: number(c.decided) })}${c.pending ? ` · ${d("pending", { n: number(c.pending) })}` : ""}`);
  tile("tile-handoff", percent(m.handoff_rate), d("of", { n: number(m.handoffs), d: number(m.conversations) }));
  tile("tile-frt", seconds(m.first_response_seconds.median), d("handoffs", { n: number(m.first_response_seconds.count) }));
  tile("tile-tma", seconds(m.handling_seconds.median), d("handoffs", { n: number(m.handling_seconds.count) }));
  for (const [id, block] of [["tile-csat-bot", m.csat.bot], ["tile-csat-human", m.csat.human]]) {
    tile(id, block.mean == null ? "—" : `${number(block.mean, 1)} / 5`,
      `${d("ratings", { n: number(block.count) })}${block.count ? ` · ${percent(block.satisfied_rate)} ≥ 4` : ""}`);
  }
  for (const [id, block] of [["tile-ces-bot", m.ces.bot], ["tile-ces-human", m.ces.human]]) {
    tile(id, block.mean == null ? "—" : `${number(block.mean, 1)} / 5`,
      `${d("answers", { n: number(block.count) })}${block.count ? ` · ${percent(block.easy_rate)} ${d("easy")}` : ""}`);
  }
  const names = { total: d("seriesTotal"), part: d("seriesPart") };
  timeSeries($("series"), m.timeseries.map((r) => ({ label: r.bucket, total: r.conversations, part: r.contained })), names);
  $("series").setAttribute("aria-label", `${names.total}: ${m.conversations}; ${names.part}: ${c.contained}`);
  const bars = (dim, table) => Object.entries(m.breakdowns[dim] || {})
    .sort((a, b) => b[1].conversations - a[1].conversations)
    .map(([key, b]) => ({ label: label(table, key), value: b.conversations, note: d("contained", { rate: percent(b.containment_rate) }) }));
  horizontalBars($("by-channel"), bars("channel", "channels"));
  horizontalBars($("by-language"), bars("language", "languages"));
  horizontalBars($("by-market"), bars("market", "markets"));
  const moves = Object.entries(m.supervisor_actions || {});
  $("moves").replaceChildren(...moves.map(([kind, n]) =>
    el("li", { dataset: { move: kind } }, el("span", {}, d(`moves.${kind}`)), el("strong", {}, number(n)))));
  heatMap($("heatmap"), m.heatmap, d("days"));
  const reasons = Object.entries(m.handoff_rate_by_reason);
  $("reasons").replaceChildren(...(reasons.length ? reasons.map(([reason, r]) =>
    el("li", { dataset: { reason } }, el("span", {}, reasonLabel(reason)),
      el("strong", {}, `${number(r.count)} · ${percent(r.rate)}`)))
    : [el("li", { class: "muted" }, d("noData"))]));
  const gaps = m.kb.top_unanswered;
  $("gaps").replaceChildren(...(gaps.length ? gaps.map((g) =>
    el("li", {}, el("span", {}, g.question), el("strong", {}, `× ${number(g.count)}`)))
    : [el("li", { class: "muted" }, d("noGaps"))]));
}

function renderLive() {
  if (!live) return;
  $("live-queue").textContent = number(live.queue_depth);
  $("live-wait").textContent = live.longest_wait_seconds == null ? "—" : seconds(live.longest_wait_seconds);
  $("live-assigned").textContent = number(live.assigned);
  $("live-agents").textContent = number(live.agents_online);
}

async function load() {
  $("status").textContent = d("loading");
  try {
    data = await get(`/api/dashboard/summary?${query()}`);
    $("f-start").value = data.window.first_day;
    $("f-end").value = data.window.last_day;
    $("status").textContent = "";
    render();
  } catch (err) {
    $("status").textContent = "";
    toast(d("errorLoad", { detail: err instanceof ApiError ? err.message : String(err) }), "error");
  }
}

async function refreshLive() {
  try {
    live = await get("/api/dashboard/live");
    renderLive();
  } catch { /* the next tick tries again; the summary shows its own errors */ }
}

/** Download the CSV with the session cookie, like every API call of the console. */
async function exportCsv() {
  try {
    const res = await fetch(`/api/dashboard/export.csv?${query()}`, { headers: { Accept: "text/csv" }, credentials: "same-origin" });
    if (!res.ok) throw new ApiError(res.status, res.statusText);
    const url = URL.createObjectURL(await res.blob());
    const link = el("a", { href: url, download: `atiende-${$("f-start").value}-${$("f-end").value}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    toast(d("exported"));
  } catch (err) {
    toast(d("errorLoad", { detail: err.message }), "error");
  }
}

function deny(key) {
  $("denied-text").replaceChildren(d(key), " ", el("a", { href: "/console/" }, d("goLogin")));
  $("denied").hidden = false;
  $("dashboard").hidden = true;
}

async function boot() {
  setLang(getLang());
  $("lang-select").value = getLang();
  applyStatic();
  $("lang-select").addEventListener("change", (e) => { setLang(e.target.value); applyStatic(); render(); renderLive(); renderAgents(); });
  let me;
  try {
    me = await get("/api/me");
  } catch {
    deny("notLoggedIn");
    return;
  }
  if ((me?.agent || me)?.role !== "supervisor") {
    deny("onlySupervisors");
    return;
  }
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("export").addEventListener("click", exportCsv);
  document.addEventListener("atiende:moved", () => load()); // a supervisor move: interventions
  $("dashboard").hidden = false;
  let resizing = null; // charts are drawn at their width: redraw once a resize settles
  window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(render, 200); });
  await Promise.all([load(), refreshLive(), startAgentsPanel(me)]);
  setInterval(refreshLive, LIVE_EVERY_MS);
}

boot();
