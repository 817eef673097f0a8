// Cluster Module dashboard: draws the module as it stands in the rack and keeps it live from
// the hub's event stream (stream.js: /api/v1/nodes read each time the stream opens, then the
// stream's node updates; no polling). This file composes the page. Native ES modules, no
// build step, nothing loaded from the network.
import { api, setToken, token } from "./api.js";
import { clickSelects, drawSelection, toggle, toggleBus } from "./bulk.js";
import { openConsole, setUpConsole } from "./console.js";
import { openDetails, setUpDetails, tokenChanged } from "./details.js";
import { $ } from "./dom.js";
import { logEvents, logNote } from "./event_log.js";
import { anyCountdown, drawJobs, loadJobs, settleJobs } from "./jobs.js";
import { animateLeds, drawNode, drawRack, tickHeartbeats } from "./rack.js";
import { setConn } from "./reachability.js";
import { nodes, view } from "./state.js";
import { connect, noteStage, showNode } from "./stream.js";
import { setUpToolbar, viewChanged } from "./toolbar.js";

/** Events read when the page opens, for the event log and the bays' boot stages. */
const EVENTS_ON_LOAD = 300;

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
