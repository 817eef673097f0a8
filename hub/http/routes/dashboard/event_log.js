// The event log pane: the hub's recent events (read once when the page opens), then each new
// one from the stream, newest first, a bounded number kept.
import { $, el, hms } from "./dom.js";

/** Events kept in the pane. */
const KEEP = 200;

let newestId = 0;

/** The id of the newest event the page has (the stream resumes after it). */
export function lastEventId() {
  return newestId;
}

/** A job's every step is its bar in the header; the log keeps its start and its end. */
function worthLogging(e) {
  if (e.type !== "job_progress") return true;
  return e.data.state !== "running" || / started: /.test(e.message);
}

/** Adds events (oldest first); ones the pane has already are skipped. */
export function logEvents(events) {
  const list = $("#event-log");
  const fresh = events.filter((e) => e.id > newestId);
  if (fresh.length === 0) return;
  newestId = fresh.at(-1).id;
  list.querySelector(".empty")?.remove();
  const rows = fresh.filter(worthLogging).reverse().map((e) => {
    const li = el("li", "event");
    li.dataset.id = String(e.id);
    li.dataset.type = e.type;
    if (e.node !== null) li.dataset.node = String(e.node);
    li.append(
      el("span", "when", hms(e.at)),
      el("span", "type", e.type),
      el("span", "text", e.message),
    );
    li.title = new Date(e.at).toString();
    return li;
  });
  list.prepend(...rows);
  while (list.children.length > KEEP) list.lastElementChild.remove();
}

/** Says something about the log itself in its place (e.g. why it has no history). */
export function logNote(text) {
  const list = $("#event-log");
  list.querySelector(".empty")?.remove();
  list.prepend(el("li", "note", text));
}
