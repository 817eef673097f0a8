// Selecting bays and switching them together: a BitBar's label selects its six bays, a click
// on a bay toggles it while selecting (Ctrl/⌘/Shift-click always does), "Select shown" takes
// what the search shows. Power off and cycle name the nodes and ask first.
import { api, token } from "./api.js";
import { confirmPower, needsConfirmation } from "./confirm.js";
import { $ } from "./dom.js";
import { shownIds } from "./find.js";
import { nodes, selected, view } from "./state.js";

let hooks = { changed: () => {} };

function message(text, kind = "info") {
  const m = $("#bulk-msg");
  m.textContent = text;
  m.dataset.kind = kind;
}

/** What the selection is, in words: `BitBar 10` when it is exactly one whole bus. */
function scopeOf(ids) {
  const m = view.module;
  if (!m || ids.length !== m.slotsPerBus) return "";
  const bus = Math.ceil(ids[0] / m.slotsPerBus);
  return ids.every((id) => Math.ceil(id / m.slotsPerBus) === bus) ? `BitBar ${bus}` : "";
}

/** Redraws the selection bar. */
export function drawSelection() {
  const ids = [...selected].sort((a, b) => a - b);
  const scope = scopeOf(ids);
  $("#sel-count").textContent = ids.length === 0
    ? "none selected"
    : `${ids.length} selected${scope ? ` (${scope})` : ""}`;
  for (const b of document.querySelectorAll("#bulk [data-bulk]")) {
    b.disabled = ids.length === 0 || !token();
    b.title = token() ? "" : "enter the admin token in the header first";
  }
  $("#select-clear").disabled = ids.length === 0;
  // The power buttons show once something is selected (a phone keeps a row for the rack).
  $("#bulk").dataset.empty = String(ids.length === 0);
  $("#select-mode").setAttribute("aria-pressed", String(view.selecting));
}

/** Whether a click on a bay selects it rather than opening its dialog. */
export function clickSelects(e) {
  return view.selecting || selected.size > 0 || e.ctrlKey || e.metaKey || e.shiftKey;
}

/** Toggles one bay. */
export function toggle(id) {
  if (selected.has(id)) selected.delete(id);
  else selected.add(id);
  hooks.changed();
}

/** Selects a whole BitBar, or clears it when all of it is selected. */
export function toggleBus(bus) {
  const m = view.module;
  const ids = [];
  for (let s = 1; s <= m.slotsPerBus; s++) ids.push((bus - 1) * m.slotsPerBus + s);
  const all = ids.every((id) => selected.has(id));
  for (const id of ids) all ? selected.delete(id) : selected.add(id);
  hooks.changed();
}

async function bulk(action) {
  const ids = [...selected].sort((a, b) => a - b);
  if (ids.length === 0) return;
  const targets = ids.map((id) => nodes.get(id)).filter((n) => n);
  if (needsConfirmation(action, targets) && !(await confirmPower(action, targets, scopeOf(ids)))) {
    message(`power ${action} not done`);
    return;
  }
  message(`power ${action} ${ids.length} nodes…`);
  try {
    const job = await api("POST", "/power", { state: action, nodes: ids.join(",") });
    message(`power ${job.summary}: job ${job.state}`);
  } catch (e) {
    message(e.message, "error");
  }
}

/** Wires the selection bar. */
export function setUpBulk(h) {
  hooks = h;
  for (const b of document.querySelectorAll("#bulk [data-bulk]")) {
    b.addEventListener("click", () => bulk(b.dataset.bulk));
  }
  $("#select-mode").addEventListener("click", () => {
    view.selecting = !view.selecting;
    hooks.changed();
  });
  $("#select-shown").addEventListener("click", () => {
    for (const id of shownIds()) selected.add(id);
    hooks.changed();
  });
  $("#select-clear").addEventListener("click", () => {
    selected.clear();
    view.selecting = false;
    message("");
    hooks.changed();
  });
}
