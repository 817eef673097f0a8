/**
 * The dashboard at `/`: plain HTML, CSS, the browser's native ES modules and an SVG favicon (also
 * at `/favicon.ico`) from `dashboard/`, and the terminal emulator (xterm.js from npm, under
 * `/dashboard/vendor/`), served as static strings (no build step, nothing fetched from the
 * network). The LED pattern table
 * the browser animates is generated from the node agent's own pattern data
 * (shared/led/patterns.ts), so the page blinks exactly as the agents do.
 */
import { Hono } from "hono";
import { patternFor } from "../../../shared/led/patterns.ts";
import { EventType, LedMode, Model } from "../../../shared/schemas.ts";

/** Pattern table for the browser: `"<mode>/<model>"` → period and edges. */
export function ledPatternTable(): Record<
  string,
  { name: string; period: number; edges: { offset: number; value: number }[] }
> {
  const table: Record<
    string,
    { name: string; period: number; edges: { offset: number; value: number }[] }
  > = {};
  for (const mode of LedMode.options) {
    for (const model of Model.options) {
      const p = patternFor(mode, model);
      table[`${mode}/${model}`] = {
        name: p.name,
        period: p.period,
        edges: p.edges.map((e) => ({ offset: e.offset, value: e.value })),
      };
    }
  }
  return table;
}

function read(name: string): string {
  return Deno.readTextFileSync(new URL(`./dashboard/${name}`, import.meta.url));
}

/**
 * The terminal emulator's files, read from the npm package pinned in deno.json (installed into
 * node_modules by `deno install`, here and by scripts/hub/install-hub.sh): the hub serves them
 * itself, nothing comes from a CDN. Null when the package is not installed.
 */
export function vendorFile(specifier: string): string | null {
  try {
    const text = Deno.readTextFileSync(new URL(import.meta.resolve(specifier)));
    // The source maps are not served: no reference to them.
    return text.replace(/\n\/[/*]# sourceMappingURL=\S+\s*$/, "\n");
  } catch {
    return null;
  }
}

/** The vendored files, as served under /dashboard/vendor/. */
export const VENDOR_FILES = {
  "xterm.js": { specifier: "@xterm/xterm/lib/xterm.js", type: "text/javascript; charset=utf-8" },
  "xterm.css": { specifier: "@xterm/xterm/css/xterm.css", type: "text/css; charset=utf-8" },
  "addon-fit.js": {
    specifier: "@xterm/addon-fit/lib/addon-fit.js",
    type: "text/javascript; charset=utf-8",
  },
} as const;

/** Content types of the files served from `dashboard/`, by extension. */
const DASHBOARD_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
};

/** Every script module, style sheet and icon in `dashboard/`, read once at start. */
function dashboardFiles(): Record<string, { body: string; type: string }> {
  const files: Record<string, { body: string; type: string }> = {};
  for (const entry of Deno.readDirSync(new URL("./dashboard/", import.meta.url))) {
    const type = DASHBOARD_TYPES[entry.name.split(".").pop() ?? ""];
    if (entry.isFile && type) files[entry.name] = { body: read(entry.name), type };
  }
  return files;
}

/** The dashboard sub-app (`/`, `/dashboard/*`). */
export function dashboardApp(): Hono {
  const files: Record<string, { body: string; type: string }> = {
    ...dashboardFiles(),
    "led-patterns.json": {
      body: JSON.stringify(ledPatternTable()),
      type: "application/json; charset=utf-8",
    },
    // The page listens for every event type (its event log) from the one list in the schema.
    "event-types.json": {
      body: JSON.stringify(EventType.options),
      type: "application/json; charset=utf-8",
    },
  };
  const vendor: Record<string, { body: string; type: string }> = {};
  for (const [name, f] of Object.entries(VENDOR_FILES)) {
    const body = vendorFile(f.specifier);
    if (body !== null) vendor[name] = { body, type: f.type };
  }
  // The browser learns of a module's imports only once it has the module: listing every module
  // lets it fetch them all at once (three round trips fewer on a phone over WiFi).
  const preload = Object.keys(files).filter((name) => name.endsWith(".js")).sort()
    .map((name) => `<link rel="modulepreload" href="/dashboard/${name}">`).join("\n    ");
  const index = read("index.html").replace(
    /<!-- modulepreload:[^>]*-->/,
    (marker) => `${marker}\n    ${preload}`,
  );
  const app = new Hono();
  const security = {
    "content-security-policy":
      // style-src 'unsafe-inline': xterm.js adds <style> elements for its theme and cursor.
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
  };
  app.get("/", (c) => c.html(index, 200, security));
  // Browsers ask for /favicon.ico whatever the page links; every current one takes an SVG.
  app.get("/favicon.ico", (c) => {
    const f = files["favicon.svg"];
    return c.body(f.body, 200, { ...security, "content-type": f.type });
  });
  app.get("/dashboard/vendor/:file", (c) => {
    const f = vendor[c.req.param("file")];
    if (!f) return c.notFound();
    return c.body(f.body, 200, { ...security, "content-type": f.type });
  });
  app.get("/dashboard/:file", (c) => {
    const f = files[c.req.param("file")];
    if (!f) return c.notFound();
    return c.body(f.body, 200, { ...security, "content-type": f.type });
  });
  return app;
}
