// Jobs: the running ones as bars in the header (read from /api/v1/jobs when the page opens,
// then kept by job_progress events), and a history of finished ones with their result.
import { api } from "./api.js";
import { $, duration, el, hms } from "./dom.js";

/** How long a finished job's bar stays in the header before it leaves for the history. */
const LINGER_MS = 6000;
/** Finished jobs kept in the history pane. */
const HISTORY = 20;

/** job id → what the header bar shows. */
const running = new Map();
/** Finished jobs (Job objects from the hub), newest first. */
let history = [];

function fromJob(j) {
  return {
    kind: j.kind,
    state: j.state,
    summary: j.summary,
    done: j.progress.done,
    total: j.progress.total,
    note: j.state === "running" ? j.progress.note : undefined,
    remainingMs: j.progress.remainingMs,
    receivedAt: Date.now(),
  };
}

/** Takes the hub's job list (newest first): running jobs go to the header, the rest to history. */
export function loadJobs(list) {
  for (const j of list) {
    if (j.state === "running" || j.state === "queued") running.set(j.id, fromJob(j));
    else if (!running.has(j.id)) remember(j);
  }
  drawJobs();
  drawHistory();
}

function remember(job) {
  history = [job, ...history.filter((h) => h.id !== job.id)]
    .sort((a, b) => (b.finishedAt ?? b.createdAt) - (a.finishedAt ?? a.createdAt))
    .slice(0, HISTORY);
}

/** `, 23 s left` while a step waits for a known time (counted on from the event's figure). */
function countdown(j) {
  if (j.state !== "running" || j.remainingMs == null) return "";
  const left = Math.max(0, j.remainingMs - (Date.now() - j.receivedAt));
  return `, ${Math.ceil(left / 1000)} s left`;
}

/** Redraws the header bars. */
export function drawJobs() {
  const box = $("#jobs");
  box.replaceChildren();
  for (const [id, j] of running) {
    const row = el("div", "job");
    row.dataset.state = j.state;
    row.dataset.job = id;
    const bar = el("div", "bar");
    const fill = el("i");
    const pct = j.total > 0
      ? Math.round((100 * j.done) / j.total)
      : j.state === "running"
      ? 0
      : 100;
    fill.style.width = `${pct}%`;
    bar.append(fill);
    const what = j.summary ? `${j.kind} ${j.summary}` : j.kind;
    const label = `${what} ${j.state}${j.note ? `: ${j.note}` : ""}${countdown(j)}`;
    const text = el("span", "job-label", label);
    text.title = label;
    row.append(text, bar, el("span", "", `${j.done}/${j.total}`));
    box.append(row);
  }
}

/** What a finished job's result says, in a line or two. */
function resultLines(job) {
  const r = job.result;
  const out = [];
  if (job.error) out.push(job.error);
  if (r && typeof r === "object") {
    if (Array.isArray(r.results)) {
      const ok = r.results.filter((x) => x.ok).length;
      out.push(`${ok} of ${r.results.length} nodes switched`);
      for (const x of r.results.filter((x) => !x.ok)) {
        out.push(`node ${x.node}: asked ${x.requested}, is ${x.actual}`);
      }
    } else if (Array.isArray(r.lines)) out.push(...r.lines);
    else if (typeof r.summary === "string" && !job.error) out.push(r.summary);
  }
  return [...new Set(out)];
}

/** Redraws the job history pane. */
export function drawHistory() {
  const list = $("#job-history");
  if (history.length === 0) {
    list.replaceChildren(el("li", "empty", "no job has finished since the hub started"));
    return;
  }
  list.replaceChildren(...history.map((job) => {
    const li = el("li", "done-job");
    li.dataset.job = job.id;
    li.dataset.state = job.state;
    const took = job.finishedAt ? ` · ${duration(job.finishedAt - job.createdAt)}` : "";
    li.append(
      el("span", "when", hms(job.finishedAt ?? job.createdAt)),
      el("span", "what", `${job.kind} ${job.summary}`),
      el("span", "state", `${job.state}${took}`),
    );
    const lines = resultLines(job);
    if (lines.length > 0) {
      const more = el("details", "result");
      more.append(el("summary", "", lines[0]));
      if (lines.length > 1) more.append(el("pre", "", lines.slice(1).join("\n")));
      li.append(more);
    }
    return li;
  }));
}

/** A job_progress event from the stream. */
export function onJobEvent(ev) {
  const d = ev.data;
  if (!d?.job) return;
  const prev = running.get(d.job) ?? { kind: d.kind, done: 0, total: 0, state: "running" };
  running.set(d.job, {
    kind: d.kind ?? prev.kind,
    // The started event names the work in its message ("job ID started: power on 4,19").
    summary: prev.summary ?? ev.message.match(/ started: \S+ (.*)$/)?.[1],
    state: d.state ?? prev.state,
    done: d.done ?? prev.done,
    total: d.total ?? prev.total,
    // Each progress event says the step and, for a step that waits, how long is left.
    note: d.state === "running" ? d.note ?? prev.note : undefined,
    remainingMs: d.remainingMs,
    receivedAt: Date.now(),
  });
  if (d.state === "succeeded" || d.state === "failed") finished(d.job);
  drawJobs();
}

/** A job ended: its result goes to the history, its bar leaves the header after a while. */
async function finished(id) {
  setTimeout(() => {
    running.delete(id);
    drawJobs();
  }, LINGER_MS);
  try {
    remember(await api("GET", `/jobs/${encodeURIComponent(id)}`));
  } catch {
    const j = running.get(id);
    if (j) {
      remember({
        id,
        kind: j.kind,
        summary: j.summary ?? "",
        state: j.state,
        createdAt: j.receivedAt,
        finishedAt: Date.now(),
        error: null,
      });
    }
  }
  drawHistory();
}

/**
 * The events read when the page opened: a job listed as running that they show finished (it
 * ended between the two reads) is finished here too. Only ends are applied: an older step
 * must not roll a bar back.
 */
export function settleJobs(events) {
  for (const e of events) {
    const end = e.data.state === "succeeded" || e.data.state === "failed";
    if (e.type === "job_progress" && end && running.get(e.data.job)?.state === "running") {
      onJobEvent(e);
    }
  }
}

/** Whether a header bar counts down (and needs a redraw every second). */
export function anyCountdown() {
  for (const j of running.values()) if (countdown(j)) return true;
  return false;
}
