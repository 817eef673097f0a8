// The node dialog: the power and LED buttons first (on a phone they stay above the long boot
// timeline), then the node's fields and its boot timeline (GET /nodes/:id/boot).
import { api, token } from "./api.js";
import { confirmPower, needsConfirmation } from "./confirm.js";
import { $, age, el } from "./dom.js";
import { ledModeOf, modelOf, nodes, stageWords } from "./state.js";

let openNode = null;
/** What the dialog calls back: redraw a node, open the console. */
let hooks = { drawNode: (_n) => {}, openConsole: (_id) => {} };

/** The node whose dialog is open, or null. */
export function openDetailsNode() {
  return openNode;
}

/** The LED row: what the bay shows, and a request that waits for the node to run. */
function ledText(n) {
  const shows = ledModeOf(n);
  if (!n.ledRequested) return shows;
  if (n.power.actual !== "on") return `${shows} (${n.ledRequested} waits until the node runs)`;
  return `${shows} (requested ${n.ledRequested})`;
}

function fillDetails(n) {
  $("#d-title").textContent = `Node ${n.id} · ${n.hostname}`;
  const h = n.agent?.health;
  const rows = [
    ["bay", `bus ${n.bus}, slot ${n.slot}`],
    ["model", `${modelOf(n)} (expected ${n.expectedModel})`],
    ["board", n.agent?.identity?.boardName || "—"],
    ["ip / mac", `${n.ip} / ${n.mac ?? "—"}`],
    ["power", `actual ${n.power.actual}, desired ${n.power.desired}`],
    [
      "lifecycle",
      n.quarantine ? `${n.lifecycle} (quarantined at ${n.quarantine.stage})` : n.lifecycle,
    ],
    ["LED", ledText(n)],
    [
      "heartbeat",
      n.lastHeartbeatAt != null || n.lastSeenAt == null
        ? age(n.lastHeartbeatAt)
        : `last ${age(n.lastSeenAt)}`,
    ],
    ["cpu temp", h?.cpuTempCelsius != null ? `${h.cpuTempCelsius.toFixed(1)} °C` : "—"],
    [
      "load / mem",
      h ? `${h.load1.toFixed(2)} / ${(h.memAvailableBytes / 2 ** 20).toFixed(0)} MiB free` : "—",
    ],
    ["uptime", h ? `${Math.round(h.uptimeSeconds)} s` : "—"],
    [
      "firmware power",
      h?.throttled != null
        ? `${throttledWords.get(n.id) ?? "flags"} (0x${h.throttled.toString(16)})`
        : "—",
    ],
  ];
  const dl = $("#d-fields");
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", "", k), el("dd", "", v)]));
  for (const btn of document.querySelectorAll("#details [data-action]")) {
    btn.disabled = !token();
    btn.title = token() ? "" : "enter the admin token in the header first";
  }
}

/** The dialog follows the node while open. */
export function detailsNodeChanged(n) {
  if (openNode === n.id) fillDetails(n);
}

/** Re-enables the buttons after the token changed. */
export function tokenChanged() {
  const n = openNode === null ? null : nodes.get(openNode);
  if (n) fillDetails(n);
}

// The firmware's flags in words come from the hub (GET /power-health, shared/throttled.ts).
const throttledWords = new Map();
async function loadPowerHealth(id) {
  try {
    const r = await api("GET", "/power-health");
    throttledWords.clear();
    for (const b of r.bays) throttledWords.set(b.node, b.description);
    const n = nodes.get(id);
    if (openNode === id && n) fillDetails(n);
  } catch { /* the row keeps the raw mask */ }
}

/** Opens node `id`'s dialog. */
export function openDetails(id) {
  const n = nodes.get(id);
  if (!n) return;
  openNode = id;
  message("");
  fillDetails(n);
  $("#d-boot").replaceChildren();
  loadBoot(id);
  loadPowerHealth(id);
  const dlg = $("#details");
  if (!dlg.open) dlg.showModal();
}

/** How a boot ended, in words; a boot that ran on a node now off says so. */
function bootOutcome(t, n) {
  if (t.state === "stalled") return `stalled before ${stageWords(t.stalledAt)}`;
  if (t.state === "off") return "switched off while booting";
  if (n && n.power.actual === "off" && t.state !== "off") {
    return t.state === "running" ? "ran, then switched off" : `${t.state}, then switched off`;
  }
  return t.state;
}

// The boot timeline: the latest boot and the one before it.
function timelineBlock(t, title, n) {
  const box = el("div", "timeline");
  box.dataset.state = t.state;
  box.append(el("h3", "", `${title}: attempt ${t.attempt} — ${bootOutcome(t, n)}`));
  const ol = el("ol");
  for (const m of t.stages) {
    const li = el("li", "");
    li.dataset.stage = m.stage;
    li.append(
      el("span", "at", `+${((m.at - t.poweredOnAt) / 1000).toFixed(1)} s`),
      el("span", "stage", stageWords(m.stage)),
      el("span", "detail", `${m.inferred ? "(inferred) " : ""}${m.detail}`),
    );
    ol.append(li);
  }
  box.append(ol);
  if (t.tftp.length) {
    box.append(
      el(
        "p",
        "tftp",
        `TFTP: ${t.tftp.map((f) => f.file + (f.ok ? "" : " (missing)")).join(", ")}`,
      ),
    );
  }
  return box;
}

/** Reloads the open dialog's boot timeline. */
export async function loadBoot(id) {
  try {
    const b = await api("GET", `/nodes/${id}/boot`);
    if (openNode !== id) return;
    const n = nodes.get(id);
    const parts = [el("h3", "", "Boot")];
    if (b.quarantine) {
      parts.push(
        el("p", "quarantine", `Quarantined at ${b.quarantine.stage}: ${b.quarantine.reason}`),
      );
    }
    if (b.latest) parts.push(timelineBlock(b.latest, "latest", n));
    else parts.push(el("p", "", "no boot recorded yet"));
    // The older boot ended before the latest began, whatever the node does now.
    if (b.previous) parts.push(timelineBlock(b.previous, "before", null));
    $("#d-boot").replaceChildren(...parts);
    $("#d-clear").hidden = !b.quarantine;
  } catch (e) {
    $("#d-boot").replaceChildren(el("p", "", `boot timeline: ${e.message}`));
  }
}

function message(text, kind = "info") {
  const m = $("#d-msg");
  m.textContent = text;
  m.dataset.kind = kind;
}

async function act(action) {
  const id = openNode;
  if (id === null) return;
  if (action === "console") return hooks.openConsole(id);
  try {
    if (action === "identify" || action === "heartbeat") {
      message(`asking node ${id} for LED ${action}…`);
      const n = await api("POST", `/nodes/${id}/led`, { mode: action });
      nodes.set(id, n);
      hooks.drawNode(n);
      message(
        n.power.actual === "on"
          ? `LED ${action} requested; the node shows it at its next heartbeat`
          : `LED ${action} requested; node ${id} is off and shows it once it runs`,
      );
    } else if (action === "clear") {
      const n = await api("POST", `/nodes/${id}/clear`);
      nodes.set(id, n);
      hooks.drawNode(n);
      message(`node ${id} cleared from quarantine`);
      await loadBoot(id);
    } else {
      const n = nodes.get(id);
      if (n && needsConfirmation(action, [n]) && !(await confirmPower(action, [n]))) {
        message(`power ${action} of node ${id} not done`);
        return;
      }
      message(`power ${action} node ${id}…`);
      const job = await api("POST", `/nodes/${id}/power`, { state: action });
      message(`power ${action}: job ${job.state}`);
    }
  } catch (e) {
    message(e.message, "error");
  }
}

/** Wires the dialog's buttons. */
export function setUpDetails(h) {
  hooks = h;
  for (const btn of document.querySelectorAll("#details [data-action]")) {
    btn.addEventListener("click", () => act(btn.dataset.action));
  }
  $("#details").addEventListener("close", () => (openNode = null));
}
