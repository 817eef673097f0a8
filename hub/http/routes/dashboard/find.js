// Finding bays: the search box (node number, hostname, IP, MAC, model, state, "bitbar 3"), the
// filter and the summary counts, which are buttons for their filter.
import { $, el } from "./dom.js";
import { modelOf, nodes, selected, stateText, view } from "./state.js";

/** Filters: name → [label, test]. */
export const FILTERS = {
  all: ["all", () => true],
  on: ["on", (n) => n.power.actual === "on"],
  off: ["off", (n) => n.power.actual === "off"],
  running: ["running", (n) => n.lifecycle === "running"],
  booting: ["booting", (n) => n.lifecycle === "booting" || n.lifecycle === "powering"],
  lost: ["lost", (n) => n.lifecycle === "lost"],
  fault: ["fault", (n) => n.lifecycle === "fault"],
  identify: ["identifying", (n) => n.power.actual === "on" && n.ledRequested === "identify"],
  selected: ["selected", (n) => selected.has(n.id)],
};

/** The counts shown in the summary, each a button for its filter. */
const COUNTED = ["on", "running", "booting", "lost", "fault", "off"];

/** The search text as terms: `bitbar 3`/`bus 3` → `bus:3`, a bare number is a node id. */
function terms(query) {
  return query.toLowerCase().replace(/\b(?:bitbar|bus)\s*(\d+)/g, "bus:$1").split(/\s+/)
    .filter((t) => t !== "");
}

function termMatches(n, t) {
  if (/^\d+$/.test(t)) return n.id === Number(t);
  const hay = [
    n.hostname,
    modelOf(n),
    n.ip,
    n.mac ?? "",
    stateText(n),
    `power:${n.power.actual}`,
    `bus:${n.bus}`,
    n.enabled ? "" : "disabled",
  ].join(" ").toLowerCase();
  return t.startsWith("bus:") ? hay.split(" ").includes(t) : hay.includes(t);
}

/** Whether a node passes the search and the filter. */
export function matches(n) {
  const [, test] = FILTERS[view.filter] ?? FILTERS.all;
  return test(n) && terms(view.query).every((t) => termMatches(n, t));
}

/** Node ids that pass the search and the filter. */
export function shownIds() {
  return [...nodes.values()].filter(matches).map((n) => n.id);
}

/** Makes the summary's buttons (once); `onFilter(name)` is called for a click. */
export function makeCounts(onFilter) {
  const box = $("#counts");
  for (const name of ["all", ...COUNTED]) {
    const b = el("button", "count");
    b.type = "button";
    b.dataset.filter = name;
    b.title = name === "all" ? "show every bay" : `show only bays that are ${FILTERS[name][0]}`;
    b.addEventListener("click", () => onFilter(view.filter === name ? "all" : name));
    box.append(b);
  }
  box.append(el("span", "shown"));
}

/** Updates the summary counts (the buttons stay: a click in progress is not lost). */
export function drawCounts() {
  const all = [...nodes.values()];
  for (const b of document.querySelectorAll("#counts .count")) {
    const name = b.dataset.filter;
    const count = name === "all" ? all.length : all.filter(FILTERS[name][1]).length;
    const text = name === "all" ? `${count} bays` : `${count} ${FILTERS[name][0]}`;
    if (b.textContent !== text) b.textContent = text;
    b.dataset.count = String(count);
    b.setAttribute("aria-pressed", String(view.filter === name));
  }
  const filtered = view.query.trim() !== "" || view.filter !== "all";
  $("#counts .shown").textContent = filtered ? `${all.filter(matches).length} shown` : "";
}
