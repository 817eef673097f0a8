// A node's serial console in a real terminal emulator (xterm.js, served by the hub): history,
// then live; typing goes to the node while this page holds the writer role. Where a new boot
// begins the hub writes a marker line into the console itself (cm console shows it too).
import { API, api, token } from "./api.js";
import { $ } from "./dom.js";

/** The open console: { id, term, fit, ws } or null. */
let consoleSession = null;

function consoleState(state, text) {
  const s = $("#c-state");
  s.dataset.state = state;
  s.textContent = text ?? state;
  $("#console").dataset.state = state;
  $("#c-takeover").hidden = state !== "viewer";
}

function consoleMessage(text, kind = "info") {
  const m = $("#c-msg");
  m.textContent = text;
  m.dataset.kind = kind;
}

function onConsoleFrame(f) {
  switch (f.type) {
    case "hello":
      consoleState(f.role, f.role === "writer" ? "you type" : "read-only");
      consoleMessage(
        `${f.source.describe}${f.source.connected ? "" : " (not connected)"}` +
          (f.reason ? ` — ${f.reason}` : ""),
      );
      break;
    case "live":
      $("#console").dataset.live = "true";
      break;
    case "role":
      consoleState(f.role, f.role === "writer" ? "you type" : "read-only");
      consoleMessage(f.reason);
      break;
    case "source":
      consoleMessage(
        f.source.connected
          ? `connected: ${f.source.describe}`
          : `console lost: ${f.source.lastError ?? "disconnected"}; the hub reconnects`,
        f.source.connected ? "info" : "error",
      );
      break;
    case "error":
      consoleMessage(f.error.message, "error");
      break;
  }
}

function closeConsole() {
  if (!consoleSession) return;
  const { ws, term, onWindowResize } = consoleSession;
  consoleSession = null;
  globalThis.removeEventListener("resize", onWindowResize);
  try {
    ws.close(1000, "dashboard closed the console");
  } catch { /* already closed */ }
  term.dispose();
}

/** Adds a classic script (the vendored UMD builds) to the page; resolves false if it fails. */
function loadScript(src) {
  return new Promise((resolve) => {
    const tag = document.createElement("script");
    tag.src = src;
    tag.onload = () => resolve(true);
    tag.onerror = () => resolve(false);
    document.head.append(tag);
  });
}

let terminalLoaded = null;
/**
 * Loads xterm.js and its fit add-on the first time a console opens: the rack does not wait for
 * some 300 KB of script it may never use. True when the terminal emulator is there.
 */
function loadTerminal() {
  terminalLoaded ??= (async () => {
    if (!(await loadScript("/dashboard/vendor/xterm.js"))) return false;
    return await loadScript("/dashboard/vendor/addon-fit.js") &&
      typeof globalThis.Terminal === "function";
  })();
  return terminalLoaded;
}

export async function openConsole(id) {
  closeConsole();
  $("#details").close();
  const dlg = $("#console");
  $("#c-title").textContent = `Node ${id} · console`;
  delete dlg.dataset.live;
  consoleState("connecting");
  consoleMessage("");
  dlg.dataset.node = String(id);
  if (!dlg.open) dlg.showModal();
  if (!(await loadTerminal())) {
    consoleState("closed", "unavailable");
    consoleMessage("the terminal emulator is not installed on the hub (deno install)", "error");
    return;
  }
  try {
    // Over REST first: a refused WebSocket does not say why (no console, bad token).
    await api("GET", `/nodes/${id}/console?lines=0`);
  } catch (e) {
    consoleState("closed", "unavailable");
    consoleMessage(e.message, "error");
    return;
  }
  const term = new globalThis.Terminal({
    cursorBlink: true,
    scrollback: 5000,
    fontSize: 13,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    theme: { background: "#000000" },
  });
  const fit = new globalThis.FitAddon.FitAddon();
  term.loadAddon(fit);
  const box = $("#c-term");
  box.replaceChildren();
  term.open(box);
  fit.fit();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(
    `${proto}//${location.host}${API}/nodes/${id}/console/ws?client=dashboard&token=${
      encodeURIComponent(token())
    }`,
  );
  ws.binaryType = "arraybuffer";
  const sendResize = () => {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
    }
  };
  const onWindowResize = () => fit.fit();
  globalThis.addEventListener("resize", onWindowResize);
  consoleSession = { id, term, fit, ws, onWindowResize };
  ws.onopen = sendResize;
  ws.onmessage = (e) => {
    if (typeof e.data === "string") onConsoleFrame(JSON.parse(e.data));
    else term.write(new Uint8Array(e.data));
  };
  ws.onclose = (e) => {
    if (consoleSession?.ws !== ws) return;
    consoleState("closed");
    consoleMessage(`connection closed${e.reason ? `: ${e.reason}` : ""}`, "error");
  };
  term.onData((data) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "input", data }));
  });
  term.onResize(sendResize);
  term.focus();
}

/** Wires the console dialog. */
export function setUpConsole() {
  $("#console").addEventListener("close", closeConsole);
  $("#c-takeover").addEventListener("click", () => {
    const ws = consoleSession?.ws;
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "takeover" }));
    consoleSession?.term.focus();
  });
}
