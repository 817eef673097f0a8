// Cluster Module dashboard: draws the module as it stands in the rack and keeps it live from
// the hub's event stream (SSE): it reads /api/v1/nodes each time the stream opens, then
// applies the stream's node updates (node_updated: what changed, heartbeats included). No
// polling. Native ES modules, no build step, nothing loaded from the network.
import { API, api, setToken, token } from "./api.js";
import { clickSelects, drawSelection, setUpBulk, toggle, toggleBus } from "./bulk.js";
import { openConsole, setUpConsole } from "./console.js";
import {
  detailsNodeChanged,
  loadBoot,
  openDetails,
  openDetailsNode,
  setUpDetails,
  tokenChanged,
} from "./details.js";
import { $, hms } from "./dom.js";
import { lastEventId, logEvents, logNote } from "./event_log.js";
import { drawCounts, FILTERS, makeCounts } from "./find.js";
import { anyCountdown, drawJobs, loadJobs, onJobEvent, settleJobs } from "./jobs.js";
import { animateLeds, drawNode, drawRack, markAll, tickHeartbeats } from "./rack.js";
import { applyChanges, nodes, selected, stages, view } from "./state.js";

/** Events read when the page opens, for the event log and the bays' boot stages. */
const EVENTS_ON_LOAD = 300;

/** Redraws a node everywhere it shows. */
function showNode(n) {
  drawNode(n);
  detailsNodeChanged(n);
}

/** After the search, filter or selection changed. */
function viewChanged() {
  markAll();
  drawCounts();
  drawSelection();
}

// ---- reachability: stale data is greyed out, with the time it is from ------------------

/** Why the hub counts as unreachable now: "rest" (reading /nodes failed), "events" (stream down). */
const down = new Set();
let streamOpen = false;
/** When the data on the page was last fetched (browser clock, ms). */
let dataAt = null;

function setConn(state, title = "") {
  const c = $("#conn");
  c.dataset.state = state;
  c.textContent = state;
  c.title = title;
}

function showReachability(detail = "") {
  const stale = down.size > 0;
  const banner = $("#stale");
  banner.hidden = !stale;
  banner.textContent = stale
    ? `hub unreachable — data from ${dataAt === null ? "never" : hms(dataAt)}`
    : "";
  document.body.dataset.stale = String(stale);
  if (stale) setConn("reconnecting", detail || "hub unreachable");
  else setConn(streamOpen ? "live" : "connecting");
}

function markDown(what, detail) {
  down.add(what);
  showReachability(detail);
}

function markUp(what) {
  const was = down.delete(what);
  if (was || (what === "events" && $("#conn").dataset.state !== "live")) showReachability();
}

/** A node as it now stands: kept, drawn everywhere it shows. */
function setNode(n) {
  nodes.set(n.id, n);
  if (n.power.actual === "off") stages.delete(n.id);
  showNode(n);
}

/** Node updates that arrived while /nodes was being read (applied after it), or null. */
let held = null;

/** Reads every node once (when the stream opens); the stream's updates carry on from it. */
async function readNodes() {
  held ??= [];
  try {
    const list = await api("GET", "/nodes");
    dataAt = Date.now();
    for (const n of list) setNode(n);
    document.body.dataset.loaded = "true";
    markUp("rest");
  } catch (e) {
    markDown("rest", `hub unreachable: ${e.message}`);
  } finally {
    // (Two reads at once, from two opens in quick succession: the first one applies them.)
    const later = held ?? [];
    held = null;
    for (const u of later) applyUpdate(u);
    drawCounts();
  }
}

/** What changed in one node (a `node_updated` message). */
function applyUpdate(u) {
  const n = nodes.get(u.node);
  if (!n) return;
  setNode(applyChanges(n, u.changes));
  // The counts change with the bay (they write to the page only what differs).
  drawCounts();
}

function onNodeUpdate(u) {
  dataAt = Date.now();
  if (held) held.push(u);
  else applyUpdate(u);
}

// ---- events -------------------------------------------------------------------------

const BOOT_EVENTS = new Set(["boot_stage", "boot_timeout", "quarantined", "quarantine_cleared"]);

/** A boot stage the node reached, or missed: its bay shows it while it boots. */
function noteStage(e) {
  if (e.type === "boot_stage" && e.node !== null) {
    stages.set(e.node, { stage: e.data.stage, attempt: e.data.attempt });
  } else if (e.type === "boot_timeout" && e.node !== null) {
    const s = stages.get(e.node);
    stages.set(e.node, { stage: s?.stage, attempt: e.data.attempt, stalledBefore: e.data.stage });
  } else if (e.type === "power_changed" && e.node !== null && e.data.to === "off") {
    stages.delete(e.node);
  }
}

function onEvent(e) {
  logEvents([e]);
  noteStage(e);
  if (e.type === "job_progress") onJobEvent(e);
  if ((e.type === "boot_stage" || e.type === "boot_timeout") && e.node !== null) {
    const n = nodes.get(e.node);
    if (n) drawNode(n);
  }
  const open = openDetailsNode();
  if (BOOT_EVENTS.has(e.type) && open !== null && e.node === open) loadBoot(open);
}

function connect(types) {
  // Resume after the newest event the page has: nothing between the first read and the
  // stream is missed (on a reconnect the browser sends Last-Event-ID itself).
  const query = new URLSearchParams({ updates: "nodes" });
  if (lastEventId() > 0) query.set("after", String(lastEventId()));
  // An EventSource cannot send headers: a hub that needs a token for reads takes ?token=.
  if (token()) query.set("token", token());
  const es = new EventSource(`${API}/events?${query}`);
  es.onopen = () => {
    streamOpen = true;
    markUp("events");
    // Node updates are live only: what happened before the stream (re)opened is read once.
    readNodes();
  };
  es.onerror = () => {
    streamOpen = false;
    markDown("events", "event stream interrupted; the browser retries");
    // The browser gives up on an answer that is not an event stream (e.g. a proxy's error
    // page while the hub restarts): start a new stream then.
    if (es.readyState === EventSource.CLOSED) setTimeout(() => connect(types), 2000);
  };
  for (const type of types) es.addEventListener(type, (m) => onEvent(JSON.parse(m.data)));
  es.addEventListener("node_updated", (m) => onNodeUpdate(JSON.parse(m.data)));
}

// ---- start --------------------------------------------------------------------------

function setUpToolbar() {
  const search = $("#search");
  search.addEventListener("input", () => {
    view.query = search.value;
    viewChanged();
  });
  const filter = $("#filter");
  for (const [name, [label]] of Object.entries(FILTERS)) {
    const o = document.createElement("option");
    o.value = name;
    o.textContent = label;
    filter.append(o);
  }
  const setFilter = (name) => {
    view.filter = name;
    filter.value = name;
    viewChanged();
  };
  filter.addEventListener("change", () => setFilter(filter.value));
  makeCounts(setFilter);
  setUpBulk({ changed: viewChanged });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !document.querySelector("dialog[open]") && selected.size > 0) {
      selected.clear();
      view.selecting = false;
      viewChanged();
    }
  });
}

async function start() {
  const tok = $("#token");
  tok.value = token();
  tok.addEventListener("change", () => {
    setToken(tok.value);
    // A hub that needs a token for reads showed nothing yet: start over with it.
    if (startFailed) return location.reload();
    tokenChanged();
    drawSelection();
  });
  setUpDetails({ drawNode: showNode, openConsole });
  setUpConsole();
  setUpToolbar();

  // Everything is asked for at once; the rack is drawn first, the job history and the event
  // log (a larger answer) follow, and the stream resumes after the last event read. The nodes
  // are read when the stream opens.
  const history = Promise.all([
    api("GET", "/jobs"),
    api("GET", `/events?format=json&limit=${EVENTS_ON_LOAD}`),
  ]).catch((e) => e);
  const [module, patterns, types] = await Promise.all([
    api("GET", "/module"),
    fetch("/dashboard/led-patterns.json").then((r) => r.json()),
    fetch("/dashboard/event-types.json").then((r) => r.json()),
  ]);
  view.module = module;
  const t = module.assetTag;
  $("#asset").textContent =
    `${t.sku} · ${t.model} · ${t.tag} — ${module.nodeCount} nodes, ${module.powerDriver} power, ${module.subnet}`;
  drawRack(module, patterns, {
    onBay: (id, e) => clickSelects(e) ? toggle(id) : openDetails(id),
    onBus: toggleBus,
  });
  viewChanged();
  // Without the history the page still runs: live events from now on, and it says why.
  const got = await history;
  const [jobs, recent] = got instanceof Error ? [[], []] : got;
  if (got instanceof Error) logNote(`no history: ${got.message}; live events from now on`);
  // A job running when the page opens shows at once; finished ones fill the history.
  loadJobs(jobs);
  settleJobs(recent);
  for (const e of recent) noteStage(e);
  logEvents(recent);
  for (const n of nodes.values()) drawNode(n); // the boot stages just learned
  connect(types);
  setInterval(animateLeds, 25);
  setInterval(() => {
    tickHeartbeats();
    if (anyCountdown()) drawJobs();
  }, 1000);
}

/** True when the first load failed (a token typed then reloads the page). */
let startFailed = false;

start().catch((e) => {
  startFailed = true;
  return e.status === 401
    ? setConn(
      "token needed",
      "this hub needs a token for reads: paste its read token (or the admin token) above",
    )
    : setConn("reconnecting", e.message);
});
