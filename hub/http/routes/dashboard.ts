/**
 * The dashboard at `/`: plain HTML, CSS, one browser script and an SVG favicon (also at
 * `/favicon.ico`) from `dashboard/`, served as static strings (no build step, nothing fetched
 * from the network). The LED pattern table
 * the browser animates is generated from the node agent's own pattern data
 * (shared/led/patterns.ts), so the page blinks exactly as the agents do.
 */
import { Hono } from "hono";
import { patternFor } from "../../../shared/led/patterns.ts";
import { LedMode, Model } from "../../../shared/schemas.ts";

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

/** The dashboard sub-app (`/`, `/dashboard/*`). */
export function dashboardApp(): Hono {
  const files: Record<string, { body: string; type: string }> = {
    "app.js": { body: read("app.js"), type: "text/javascript; charset=utf-8" },
    "style.css": { body: read("style.css"), type: "text/css; charset=utf-8" },
    "favicon.svg": { body: read("favicon.svg"), type: "image/svg+xml" },
    "led-patterns.json": {
      body: JSON.stringify(ledPatternTable()),
      type: "application/json; charset=utf-8",
    },
  };
  const index = read("index.html");
  const app = new Hono();
  const security = {
    "content-security-policy":
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
  };
  app.get("/", (c) => c.html(index, 200, security));
  // Browsers ask for /favicon.ico whatever the page links; every current one takes an SVG.
  app.get("/favicon.ico", (c) => {
    const f = files["favicon.svg"];
    return c.body(f.body, 200, { ...security, "content-type": f.type });
  });
  app.get("/dashboard/:file", (c) => {
    const f = files[c.req.param("file")];
    if (!f) return c.notFound();
    return c.body(f.body, 200, { ...security, "content-type": f.type });
  });
  return app;
}
