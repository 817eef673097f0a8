/**
 * `cm hubs add NAME URL [--token-file FILE] | list | remove NAME | trust NAME`: the hubs file.
 * `add` asks the hub which module it serves and, for https, pins its certificate.
 */
import { resolve } from "node:path";
import { ClusterError } from "../../../shared/errors.ts";
import type { ModuleInfo } from "../../../shared/schemas.ts";
import { hubClient, pinFirstUse } from "./hub_clients.ts";
import {
  findHub,
  type HubEntry,
  loadHubsFile,
  parseHubName,
  parseHubUrl,
  saveHubsFile,
} from "./hubs_file.ts";
import { presentedCert } from "./tls_pin.ts";

/** The usage line of `cm hubs`. */
export const HUBS_USAGE =
  "hubs add NAME URL [--token-file FILE] | hubs list | hubs remove NAME | hubs trust NAME";

/** What `cm hubs` works with. */
export interface HubsIo {
  path: string;
  json: boolean;
  out(line: string): void;
  err(line: string): void;
}

async function learnModule(hub: HubEntry, io: HubsIo): Promise<void> {
  try {
    hub.module = (await hubClient(hub, 5000).get<ModuleInfo>("/module")).module;
  } catch (e) {
    io.err(
      `cm hubs: warning: ${hub.name} did not answer (${
        e instanceof Error ? e.message : e
      }); added anyway, its module is learned on first use`,
    );
  }
}

function tokenFileFlag(args: string[]): { rest: string[]; tokenFile?: string } {
  const i = args.findIndex((a) => a === "--token-file" || a.startsWith("--token-file="));
  if (i < 0) return { rest: args };
  const inline = args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : undefined;
  const value = inline ?? args[i + 1];
  if (!value) throw new ClusterError("bad_request", "--token-file needs a path");
  const rest = args.filter((_, j) => j !== i && (inline !== undefined || j !== i + 1));
  return { rest, tokenFile: resolve(value) };
}

/** Runs `cm hubs …`; returns the exit code. */
export async function runHubs(args: string[], io: HubsIo): Promise<number> {
  const [sub, ...rest] = args;
  const file = loadHubsFile(io.path);
  switch (sub) {
    case "list":
    case undefined: {
      if (io.json) {
        io.out(JSON.stringify(
          file.hubs.map((h) => ({
            ...h,
            tls: h.tls ? { fingerprint: h.tls.fingerprint } : undefined,
          })),
          null,
          2,
        ));
        return 0;
      }
      if (file.hubs.length === 0) {
        io.out(`no hubs in ${io.path}; add one with cm hubs add NAME URL --token-file FILE`);
        return 0;
      }
      io.out("NAME         MODULE       URL                              TOKEN  TLS");
      for (const h of file.hubs) {
        const tls = h.url.startsWith("https:")
          ? (h.tls ? `pinned ${h.tls.fingerprint.slice(0, 30)}…` : "not pinned yet")
          : "plain http";
        io.out(
          `${h.name.padEnd(12)} ${(h.module ?? "?").padEnd(12)} ${h.url.padEnd(32)} ${
            (h.tokenFile ? "file" : "-").padEnd(6)
          } ${tls}`,
        );
      }
      return 0;
    }
    case "add": {
      const { rest: pos, tokenFile } = tokenFileFlag(rest);
      if (pos.length !== 2) throw new ClusterError("bad_request", `usage: cm ${HUBS_USAGE}`);
      const name = parseHubName(pos[0]);
      const url = parseHubUrl(pos[1]);
      if (file.hubs.some((h) => h.name === name)) {
        throw new ClusterError(
          "conflict",
          `a hub named ${name} is already in ${io.path}; remove it first (cm hubs remove ${name})`,
        );
      }
      const hub: HubEntry = { name, url, ...(tokenFile ? { tokenFile } : {}) };
      file.hubs.push(hub);
      await pinFirstUse(file, [hub], io.path, io.err);
      if (!url.startsWith("https:") || hub.tls) await learnModule(hub, io);
      const twin = file.hubs.find((h) => h !== hub && h.module && h.module === hub.module);
      if (twin) {
        io.err(
          `cm hubs: warning: ${twin.name} also serves module ${hub.module}: MODULE:N would be ambiguous; start one hub with another --module`,
        );
      }
      saveHubsFile(io.path, file);
      io.out(`added hub ${name} (${url}${hub.module ? `, module ${hub.module}` : ""})`);
      return 0;
    }
    case "remove": {
      if (rest.length !== 1) throw new ClusterError("bad_request", "usage: cm hubs remove NAME");
      findHub(file, rest[0], io.path);
      file.hubs = file.hubs.filter((h) => h.name !== rest[0]);
      saveHubsFile(io.path, file);
      io.out(`removed hub ${rest[0]}`);
      return 0;
    }
    case "trust": {
      if (rest.length !== 1) throw new ClusterError("bad_request", "usage: cm hubs trust NAME");
      const hub = findHub(file, rest[0], io.path);
      if (!hub.url.startsWith("https:")) {
        throw new ClusterError("bad_request", `hub ${hub.name} is plain http: nothing to pin`);
      }
      let now;
      try {
        now = await presentedCert(hub.url);
      } catch (e) {
        throw new ClusterError(
          "not_ready",
          `cannot reach hub ${hub.name} at ${hub.url} (${e instanceof Error ? e.message : e})`,
        );
      }
      const before = hub.tls?.fingerprint ?? "none";
      hub.tls = { fingerprint: now.fingerprint, cert: now.cert };
      saveHubsFile(io.path, file);
      io.out(`hub ${hub.name}: pinned ${now.fingerprint} (was ${before})`);
      return 0;
    }
    default:
      throw new ClusterError("bad_request", `usage: cm ${HUBS_USAGE}`);
  }
}
