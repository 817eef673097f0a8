/**
 * What the Pi lab's agent tests share (tests/pi/zerow_card.test.ts, tests/pi/deadman.test.ts):
 * the hub as its own process on the host's loopback (a guest on QEMU's user net reaches it as
 * 10.0.2.2), GPLEV0 windows fine enough to see 100 ms phases, runs of whole LED periods, and
 * the dead-man check: after a command that kills or stops the agent, the bay LED's "alive"
 * pattern stops within 3 s and the LED stays dark, all read from outside the guest.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { PI_BOARDS, type PiBoard } from "../../scripts/pi-lab/boards.ts";
import { cardBoot } from "../../scripts/pi-lab/card.ts";
import { edgesOf, phases, type Sample, sampleBit } from "../../scripts/pi-lab/gplev.ts";
import { PiGuest } from "../../scripts/pi-lab/guest.ts";
import type { NodeStatus } from "../../shared/schemas.ts";
import { hubProcessArgs } from "./hub_process_args.ts";

const PROJ = new URL("../../", import.meta.url).pathname;

/** A hub process for a lab test. */
export interface LabHub {
  port: number;
  /** One REST call with the admin token; throws on a non-2xx answer. */
  // deno-lint-ignore no-explicit-any
  api(method: string, path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

/** The hub as its own process on 127.0.0.1 (admin token `T`, agent key `K`). */
export async function startLabHub(dir: string): Promise<LabHub> {
  const child = new Deno.Command(Deno.execPath(), {
    args: hubProcessArgs(join(dir, "hub-data")),
    cwd: PROJ,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let url = "";
  while (!url) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the hub exited before listening:\n${out}`);
    out += value;
    url = out.match(/on (http:\/\/[^\s]+)/)?.[1] ?? "";
  }
  const drain = (async () => {
    for (;;) if ((await lines.read()).done) break;
  })();
  const stderr = new Response(child.stderr).text();
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: "Bearer T", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    port: Number(new URL(url).port),
    api,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drain;
      await stderr;
    },
  };
}

/**
 * The longest run of whole periods with `highMs` high then `lowMs` low (each within 40 ms,
 * or 60 ms for phases of 500 ms and more), in `samples`.
 */
export function periodsInARow(samples: Sample[], highMs: number, lowMs: number): number {
  const edges = edgesOf(samples);
  const near = (x: number, want: number) => Math.abs(x - want) <= (want >= 500 ? 60 : 40);
  let best = 0;
  let run = 0;
  for (let i = 0; i + 2 < edges.length; i++) {
    if (edges[i].level !== 1) continue;
    const ok = near(edges[i + 1].t - edges[i].t, highMs) &&
      near(edges[i + 2].t - edges[i + 1].t, lowMs);
    run = ok ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** p99 of the gaps between samples that still resolves a 100 ms phase. */
const FINE_GAP_MS = 40;

/** p99 of the gaps between `samples` (ms). */
export function gapP99(samples: Sample[]): number {
  const gaps = samples.slice(1).map((x, j) => x.t - samples[j].t).sort((a, b) => a - b);
  return gaps[Math.min(gaps.length - 1, Math.ceil(0.99 * gaps.length) - 1)] ?? Infinity;
}

/**
 * The bay LED's GPIO for `ms`, from a window whose sampling was fine enough to see 100 ms
 * phases: QMP answers slowly while the host is overloaded, so up to `tries` windows are taken.
 */
export async function fineSamples(
  guest: PiGuest,
  board: PiBoard,
  ms: number,
  log: (l: string) => void,
  tries = 5,
): Promise<Sample[]> {
  let last: Sample[] = [];
  for (let i = 0; i < tries; i++) {
    last = await sampleBit(guest.qmp, board.gplev0, board.ledGpio, ms);
    const p99 = gapP99(last);
    if (p99 <= FINE_GAP_MS) return last;
    log(`GPLEV0 sampled too coarsely (p99 gap ${Math.round(p99)} ms): the host is busy; again`);
  }
  if (tries > 1) throw new Error(`GPLEV0 could not be sampled finely in ${tries} windows`);
  return last;
}

/**
 * Types `text` on the guest's serial console a key at a time: a burst is lost past the UART's
 * FIFO (a command arrived as `kill -STOP $(sys`).
 */
export async function typeOnConsole(guest: PiGuest, text: string, gapMs = 25): Promise<void> {
  for (const c of text) {
    await guest.sendConsole(c);
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

/**
 * The dead-man, from outside: GPLEV0 sampled from 2 s before `act` (which kills or stops the
 * agent) to about 5 s after it. Asserts that the LED blinked before, that its last edge came within
 * 3 s of the command, and that it is dark at the end (GPIO high on an active-low LED).
 * Returns the last edge's time after the command (ms).
 */
export async function assertDeadMan(
  guest: PiGuest,
  board: PiBoard,
  how: string,
  act: () => Promise<void>,
  log: (l: string) => void,
): Promise<number> {
  const sampling = sampleBit(guest.qmp, board.gplev0, board.ledGpio, 7000);
  await new Promise((r) => setTimeout(r, 2000));
  await act();
  const sent = performance.now(); // the command's last key (it runs at once, or later)
  const samples = await sampling;
  const edges = edgesOf(samples);
  const before = edges.filter((e) => e.t > sent - 2000 && e.t <= sent);
  assert.ok(before.length >= 2, `${how}: the LED was not blinking before the command`);
  const lastEdge = edges.filter((e) => e.t > sent).at(-1);
  const after = lastEdge ? lastEdge.t - sent : 0;
  const dark = board.ledActiveLow ? 1 : 0;
  log(
    `${how}: last edge ${Math.round(after)} ms after the command, GPIO ${board.ledGpio} then ${
      samples.at(-1)!.level
    } (dark is ${dark}); sampled every ${Math.round(gapP99(samples))} ms (p99)`,
  );
  assert.ok(samples.at(-1)!.t - sent >= 4000, `${how}: GPLEV0 not sampled 4 s past the command`);
  assert.ok(after <= 3000, `${how}: edges until ${Math.round(after)} ms after it`);
  assert.equal(samples.at(-1)!.level, dark, `${how}: the bay LED dark`);
  return after;
}

/** A Zero W card booted in the lab, its agent reporting to `hub`. */
export interface ZeroWLab {
  guest: PiGuest;
  /** The node the card is pinned to (`cm.node=`). */
  node: number;
}

/**
 * Writes the Zero W card as a user does (`deno task image -- --board zerow`, cached by the
 * hash of its inputs), plays the firmware's part (scripts/pi-lab/card.ts) and boots it in
 * raspi0 as its SD card, with the card's cmdline.txt pointing at `hub` (QEMU's usb-net: the
 * host is 10.0.2.2) and pinned to bay `node`. The caller stops the guest.
 */
export async function bootZeroWCard(
  dir: string,
  hub: LabHub,
  node: number,
  log: (l: string) => void,
): Promise<ZeroWLab> {
  const board = PI_BOARDS.zerow;
  await Deno.writeTextFile(join(dir, "key"), "K\n");
  const out = await new Deno.Command("sh", {
    args: [
      `${PROJ}scripts/image/image.sh`,
      "--board",
      "zerow",
      "--out",
      join(dir, "card.img"),
      "--key-file",
      join(dir, "key"),
    ],
    env: { PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`image.sh: ${dec.decode(out.stderr).slice(-2000)}`);
  const card = dec.decode(out.stdout).trim().split("\n").at(-1)!;
  log(`card ${card}`);
  const boot = await cardBoot(card, board.machine, join(dir, "boot"));
  await hub.api("POST", `/nodes/${node}/power`, { state: "on" });
  const append = boot.cmdline.replace(/console=ttyAMA0,115200\s*/, "")
    .replace(/cm\.hub=\S+/, `cm.hub=http://10.0.2.2:${hub.port}`) + ` cm.node=${node}`;
  const guest = await PiGuest.start({
    board,
    dir: join(dir, "guest"),
    kernel: boot.kernel,
    dtb: boot.dtb,
    initrd: boot.initrd ?? undefined,
    sdCard: card,
    serialInput: true,
    net: { kind: "user" },
    append,
  });
  log("guest started");
  return { guest, node };
}

/**
 * Waits until the hub shows `node` running with an agent that reports its heartbeat pattern
 * (an emulated board on a busy host can take seconds per heartbeat at first, and its agent
 * then shows fault, as it should). Returns the node's status; throws when QEMU exits.
 */
export async function waitHeartbeat(
  hub: LabHub,
  guest: PiGuest,
  node: number,
  log: (l: string) => void,
  seconds = 600,
): Promise<NodeStatus> {
  let status = {} as NodeStatus;
  for (let i = 0; i < seconds; i++) {
    status = await hub.api("GET", `/nodes/${node}`);
    if (status.lifecycle === "running" && status.agent?.led === "heartbeat") break;
    if (guest.exited) throw new Error("QEMU exited");
    await new Promise((r) => setTimeout(r, 1000));
  }
  log(
    `hub: node ${node} ${status.lifecycle}, LED ${status.agent?.led}, agent ${
      JSON.stringify(status.agent?.identity)
    }`,
  );
  return status;
}

/**
 * Waits until GPLEV0 shows `periods` whole periods of `highMs` high then `lowMs` low in a row
 * (see {@link periodsInARow}), sampling windows of `windowMs` for up to `maxMs`: on a host
 * busy with other work the emulated board gets little CPU, its agent restarts the pattern late
 * and the dead-man darkens the LED between (as it should), so whole periods come in runs.
 * Throws with the phases last seen.
 */
export async function seePattern(
  guest: PiGuest,
  board: PiBoard,
  highMs: number,
  lowMs: number,
  log: (l: string) => void,
  { periods = 3, windowMs = 4000, maxMs = 40_000 } = {},
): Promise<Sample[]> {
  const until = performance.now() + maxMs;
  let last = "";
  do {
    const samples = await sampleBit(guest.qmp, board.gplev0, board.ledGpio, windowMs);
    const got = periodsInARow(samples, highMs, lowMs);
    const ph = phases(edgesOf(samples));
    last = `high ${ph.high.map(Math.round)}; low ${ph.low.map(Math.round)}; sample gap p99 ${
      Math.round(gapP99(samples))
    } ms`;
    if (got >= periods) {
      log(`${highMs} / ${lowMs} ms seen: ${last}`);
      return samples;
    }
    log(`${got} periods of ${highMs} / ${lowMs} ms in a row (${last}); again`);
  } while (performance.now() < until);
  throw new Error(`no ${periods} periods of ${highMs} / ${lowMs} ms in a row: ${last}`);
}
