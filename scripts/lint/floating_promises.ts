/**
 * A `deno lint` plugin (deno.json `lint.plugins`): `hub/no-floating-promise` finds promises
 * in hub/ that are started and left alone, whose rejection would be unhandled. Deno ends the
 * process on an unhandled rejection unless the hub's policy catches it (docs/faults.md); this
 * rule keeps them from being written in the first place.
 *
 * Without types it works on shapes. A statement (or `void …`) that is:
 * - `p.then(f)` with no rejection handler, or `p.finally(f)` (which passes the rejection on);
 * - a call of an `async` function, method or arrow declared in the same file;
 * - a call of a known promise API: `Promise.all/allSettled/any/race`, `fetch`, a Clock's
 *   `sleep`/`sleepUntil`;
 * - `void f()`, whatever `f` is: the idiom for throwing a promise away;
 * is reported unless it ends in `.catch(…)` or `.then(ok, fail)`, or is awaited or returned.
 * Where a promise truly cannot reject, say so with
 * `// deno-lint-ignore hub/no-floating-promise -- why`.
 */

/**
 * The name an async function, method or arrow is declared under, if `node` declares one:
 * `f` for a function or variable (called as `f()`), `.m` / `.#m` for a member (`this.m()`).
 */
function asyncName(node: Deno.lint.Node): string | null {
  switch (node.type) {
    case "FunctionDeclaration":
      return node.async && node.id ? node.id.name : null;
    case "MethodDefinition":
    case "PropertyDefinition": {
      const value = node.value;
      const isAsync = value !== null && value !== undefined &&
        (value.type === "FunctionExpression" || value.type === "ArrowFunctionExpression") &&
        value.async;
      if (!isAsync) return null;
      const key = node.key;
      if (key.type === "Identifier") return `.${key.name}`;
      if (key.type === "PrivateIdentifier") return `.#${key.name}`;
      return null;
    }
    case "VariableDeclarator":
      return node.id.type === "Identifier" && node.init &&
          (node.init.type === "ArrowFunctionExpression" ||
            node.init.type === "FunctionExpression") &&
          node.init.async
        ? node.id.name
        : null;
  }
  return null;
}

/** The repository's root (this file is scripts/lint/…). */
const ROOT = new URL("../../", import.meta.url).pathname;

/** True for a TypeScript file under hub/ (the rule's scope; the dashboard's browser code is not). */
function inHub(filename: string): boolean {
  return filename.startsWith(`${ROOT}hub/`) && filename.endsWith(".ts");
}

const PROMISE_STATICS = new Set(["all", "allSettled", "any", "race"]);
const CLOCK_WAITS = new Set(["sleep", "sleepUntil"]);

/** The name a call's callee goes by (`f`, `this.m`, `this.#m`, `x.m`), and its object. */
function callee(call: Deno.lint.CallExpression): { name: string; object?: Deno.lint.Node } {
  const c = call.callee;
  if (c.type === "Identifier") return { name: c.name };
  if (c.type === "MemberExpression") {
    const p = c.property;
    if (p.type === "Identifier") return { name: p.name, object: c.object };
    if (p.type === "PrivateIdentifier") return { name: `#${p.name}`, object: c.object };
  }
  return { name: "" };
}

/** Why a call left as a statement floats a promise, or null. */
function floats(call: Deno.lint.CallExpression, local: Set<string>): string | null {
  const { name, object } = callee(call);
  if (name === "then") {
    return call.arguments.length < 2 ? "`.then(f)` without a rejection handler" : null;
  }
  if (name === "catch") return null;
  if (name === "finally") return "`.finally(f)` passes a rejection on";
  if (object === undefined && local.has(name)) return `\`${name}()\` is async`;
  if (object?.type === "ThisExpression" && local.has(`.${name}`)) {
    return `\`this.${name}()\` is async`;
  }
  if (object?.type === "Identifier" && object.name === "Promise" && PROMISE_STATICS.has(name)) {
    return `\`Promise.${name}()\` rejects`;
  }
  if (object === undefined && name === "fetch") return "`fetch()` rejects";
  if (object !== undefined && CLOCK_WAITS.has(name)) return `\`${name}()\` returns a promise`;
  return null;
}

const plugin: Deno.lint.Plugin = {
  name: "hub",
  rules: {
    "no-floating-promise": {
      create(ctx) {
        if (!inHub(ctx.filename)) return {};
        // Async names are collected while walking; statements are judged at the end, when
        // every declaration of the file (also those below their use) is known.
        const local = new Set<string>();
        const pending: { expr: Deno.lint.Expression; at: Deno.lint.Node }[] = [];
        const declare = (node: Deno.lint.Node) => {
          const name = asyncName(node);
          if (name !== null) local.add(name);
        };
        return {
          FunctionDeclaration: declare,
          MethodDefinition: declare,
          PropertyDefinition: declare,
          VariableDeclarator: declare,
          ExpressionStatement(node) {
            pending.push({ expr: node.expression, at: node });
          },
          // `() => void p()` as a callback whose result nobody reads.
          ArrowFunctionExpression(node) {
            if (node.body.type === "UnaryExpression" && node.body.operator === "void") {
              pending.push({ expr: node.body, at: node.body });
            }
          },
          "Program:exit"() {
            for (const { expr, at } of pending) {
              let e = expr;
              const voided = e.type === "UnaryExpression" && e.operator === "void";
              if (e.type === "UnaryExpression" && e.operator === "void") e = e.argument;
              if (e.type !== "CallExpression") continue;
              // `void f()` is how a promise is thrown away: its rejection goes with it, whatever
              // f is (also one declared in another file).
              const why = floats(e, local) ?? (voided ? "`void` drops its rejection" : null);
              if (why === null) continue;
              ctx.report({
                node: at,
                message: `a promise nobody handles: ${why}`,
                hint:
                  "await it, return it, or end it with .catch(…) that logs or counts the failure",
              });
            }
          },
        };
      },
    },
  },
};

export default plugin;
