// Reachability: while the hub cannot be reached, the page greys out its data and says how old
// it is; the connection badge says live, connecting, reconnecting or why not.
import { $, hms } from "./dom.js";

/** Why the hub counts as unreachable now: "rest" (reading /nodes failed), "events" (stream down). */
const down = new Set();
let streamOpen = false;
/** When the data on the page was last fetched (browser clock, ms). */
let dataAt = null;

/** The data on the page is fresh as of now. */
export function dataFresh() {
  dataAt = Date.now();
}

/** The event stream opened (true) or broke (false). */
export function setStreamOpen(open) {
  streamOpen = open;
}

/** Sets the connection badge. */
export function setConn(state, title = "") {
  const c = $("#conn");
  c.dataset.state = state;
  c.textContent = state;
  c.title = title;
}

/** Shows the banner and badge for what is down now. */
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

/** `what` ("rest" or "events") cannot reach the hub. */
export function markDown(what, detail) {
  down.add(what);
  showReachability(detail);
}

/** `what` reaches the hub again. */
export function markUp(what) {
  const was = down.delete(what);
  if (was || (what === "events" && $("#conn").dataset.state !== "live")) showReachability();
}
