// The live data path: the hub's event stream (SSE) with node updates; /api/v1/nodes is read
// once each time the stream opens, and the stream's node_updated messages (what changed,
// heartbeats included) carry on from it. Events feed the log, the jobs and the boot stages.
import { API, api, token } from "./api.js";
import { detailsNodeChanged, loadBoot, openDetailsNode } from "./details.js";
import { lastEventId, logEvents } from "./event_log.js";
import { drawCounts } from "./find.js";
import { onJobEvent } from "./jobs.js";
import { drawNode } from "./rack.js";
import { dataFresh, markDown, markUp, setStreamOpen } from "./reachability.js";
import { applyChanges, nodes, stages } from "./state.js";

/** Redraws a node everywhere it shows. */
export function showNode(n) {
  drawNode(n);
  detailsNodeChanged(n);
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
    dataFresh();
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
  dataFresh();
  if (held) held.push(u);
  else applyUpdate(u);
}

const BOOT_EVENTS = new Set(["boot_stage", "boot_timeout", "quarantined", "quarantine_cleared"]);

/** A boot stage the node reached, or missed: its bay shows it while it boots. */
export function noteStage(e) {
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

/** Opens the event stream for `types` (and node updates); reopens it when the browser gives up. */
export function connect(types) {
  // Resume after the newest event the page has: nothing between the first read and the
  // stream is missed (on a reconnect the browser sends Last-Event-ID itself).
  const query = new URLSearchParams({ updates: "nodes" });
  if (lastEventId() > 0) query.set("after", String(lastEventId()));
  // An EventSource cannot send headers: a hub that needs a token for reads takes ?token=.
  if (token()) query.set("token", token());
  const es = new EventSource(`${API}/events?${query}`);
  es.onopen = () => {
    setStreamOpen(true);
    markUp("events");
    // Node updates are live only: what happened before the stream (re)opened is read once.
    readNodes();
  };
  es.onerror = () => {
    setStreamOpen(false);
    markDown("events", "event stream interrupted; the browser retries");
    // The browser gives up on an answer that is not an event stream (e.g. a proxy's error
    // page while the hub restarts): start a new stream then.
    if (es.readyState === EventSource.CLOSED) setTimeout(() => connect(types), 2000);
  };
  for (const type of types) es.addEventListener(type, (m) => onEvent(JSON.parse(m.data)));
  es.addEventListener("node_updated", (m) => onNodeUpdate(JSON.parse(m.data)));
}
