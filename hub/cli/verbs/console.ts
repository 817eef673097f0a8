/**
 * `console N`: the node's serial console in this terminal, through the hub's WebSocket. The
 * terminal goes raw (every key, Ctrl-C too, goes to the node) and is restored however the
 * session ends: `~.`, the hub closing, an error, SIGTERM/SIGHUP. `~t` takes typing over from
 * another session. A resize is passed on (a serial line has no window size; the hub shows it).
 * `console N --log` prints the history instead.
 */
import type { ConsoleHistory, ConsoleServerFrame } from "../../../shared/console_schemas.ts";
import { ClusterError } from "../../../shared/errors.ts";
import { parseIntFlag } from "../../../shared/int_flag.ts";
import type { CliCommand, CliContext } from "../command.ts";
import { ESCAPE_HELP, EscapeReader } from "../console_escape.ts";
import { type ConsoleTerminal, ProcessTerminal } from "../terminal.ts";

const USAGE =
  "usage: console N [--log [--lines N] [--timestamps]] [--read-only] [--takeover] [--lines N]";

/** How long `cm console` keeps reading after piped input ends, ms. */
export const PIPE_LINGER_MS = 500;

interface ConsoleArgs {
  node: string;
  log: boolean;
  lines: number | undefined;
  timestamps: boolean;
  readOnly: boolean;
  takeover: boolean;
}

function parseArgs(args: readonly string[]): ConsoleArgs {
  const out: ConsoleArgs = {
    node: "",
    log: false,
    lines: undefined,
    timestamps: false,
    readOnly: false,
    takeover: false,
  };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--log") out.log = true;
    else if (a === "--timestamps") out.timestamps = true;
    else if (a === "--read-only") out.readOnly = true;
    else if (a === "--takeover") out.takeover = true;
    else if (a === "--lines" || a.startsWith("--lines=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      out.lines = parseIntFlag("--lines", v ?? "", 0, 20_000);
    } else if (a.startsWith("-")) {
      throw new ClusterError("bad_request", `unknown option ${a}\n${USAGE}`);
    } else positional.push(a);
  }
  if (positional.length !== 1) throw new ClusterError("bad_request", USAGE);
  if (out.readOnly && out.takeover) {
    throw new ClusterError("bad_request", "--read-only and --takeover contradict each other");
  }
  out.node = positional[0];
  return out;
}

/** `cm console N` */
export const consoleCommand: CliCommand = {
  name: "console",
  usage: "console N [--log] [--read-only|--takeover]",
  summary: "the node's serial console (~. quits, ~? help); --log prints its history",
  flags: {
    "--log": "print the console's history instead of attaching",
    "--lines N": "how many lines of history (default 200)",
    "--timestamps": "with --log: each line with its time",
    "--read-only": "watch without typing",
    "--takeover": "take typing over from another session",
  },
  async run(ctx) {
    const opts = parseArgs(ctx.args);
    const base = `/nodes/${encodeURIComponent(opts.node)}/console`;
    if (opts.log) {
      const h = await ctx.api.get<ConsoleHistory>(`${base}?lines=${opts.lines ?? 200}`);
      if (ctx.json) ctx.out(JSON.stringify(h, null, 2));
      else {
        for (const l of h.lines) {
          ctx.out(opts.timestamps ? `${new Date(l.at).toISOString()} ${l.text}` : l.text);
        }
      }
      return 0;
    }
    // Node, console and token first, over REST: clear errors (a refused WebSocket says little).
    await ctx.api.get<ConsoleHistory>(`${base}?lines=0`);
    return await attach(ctx, base, opts, ctx.consoleTerminal ?? new ProcessTerminal());
  },
};

async function attach(
  ctx: CliContext,
  base: string,
  opts: ConsoleArgs,
  term: ConsoleTerminal,
): Promise<number> {
  const mode = opts.readOnly ? "read" : "write";
  const ws = ctx.api.openWebSocket(
    `${base}/ws?client=cm&mode=${mode}&lines=${opts.lines ?? 200}`,
  );
  ws.binaryType = "arraybuffer";
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  let leaving = false;
  let output: Promise<void> = Promise.resolve();
  const cleanups: (() => void)[] = [];

  const sendResize = () => {
    const s = term.size();
    // A pseudo-terminal nobody sized (0×0) has no size to pass on.
    if (s && s.cols > 0 && s.rows > 0 && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "resize", cols: s.cols, rows: s.rows }));
    }
  };
  const onFrame = (f: ConsoleServerFrame) => {
    switch (f.type) {
      case "hello":
        term.notice(
          `node ${f.node}'s console (${f.source.describe}${
            f.source.connected ? "" : `, not connected: ${f.source.lastError ?? "connecting"}`
          }); ${f.role === "writer" ? "you type" : "read-only"}; ~. quits, ~? help`,
        );
        if (f.reason) term.notice(`${f.reason} (~t)`);
        if (opts.takeover) ws.send(JSON.stringify({ type: "takeover" }));
        sendResize();
        return;
      case "live":
        return;
      case "role":
        return term.notice(f.reason);
      case "source":
        return term.notice(
          f.source.connected
            ? `console connected (${f.source.describe})`
            : `console lost: ${f.source.lastError ?? "disconnected"}; the hub reconnects`,
        );
      case "error":
        return term.notice(f.error.message);
    }
  };

  ws.onmessage = (e) => {
    if (typeof e.data === "string") {
      try {
        onFrame(JSON.parse(e.data) as ConsoleServerFrame);
      } catch { /* not ours to act on */ }
      return;
    }
    const bytes = new Uint8Array(e.data as ArrayBuffer);
    output = output.then(() => term.write(bytes)).catch(() => finish(1));
  };
  ws.onclose = (e) => {
    if (!leaving) term.notice(`connection closed by the hub${e.reason ? `: ${e.reason}` : ""}`);
    finish(leaving ? 0 : 1);
  };
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    ws.onerror = () => resolve(false);
  });
  if (!opened) {
    throw new ClusterError("not_ready", `cannot open the console WebSocket at ${ctx.api.baseUrl}`);
  }

  try {
    term.setRaw(true);
    cleanups.push(term.onResize(sendResize));
    cleanups.push(term.onStop((signal) => {
      term.notice(`${signal}: leaving the console`);
      leaving = true;
      finish(signal === "SIGINT" ? 130 : 1);
    }));
    const escapes = new EscapeReader();
    (async () => {
      for (;;) {
        const data = await term.read();
        if (data === null) {
          // Piped input ended: let the node answer, then leave.
          await new Promise((r) => setTimeout(r, PIPE_LINGER_MS));
          leaving = true;
          return finish(0);
        }
        const { send, commands } = escapes.feed(data);
        if (send.length > 0 && ws.readyState === WebSocket.OPEN) ws.send(send);
        for (const c of commands) {
          if (c === "quit") {
            leaving = true;
            return finish(0);
          }
          if (c === "takeover") ws.send(JSON.stringify({ type: "takeover" }));
          if (c === "help") term.notice(ESCAPE_HELP);
        }
      }
    })().catch(() => finish(1));
    const code = await finished;
    leaving = true;
    return code;
  } finally {
    for (const c of cleanups) c();
    // Output already received is written before the terminal is restored (bounded wait).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([output, new Promise((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    term.notice(`left node ${opts.node}'s console`);
    term.setRaw(false);
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
      ws.close(1000, "cm console: bye");
    }
  }
}
