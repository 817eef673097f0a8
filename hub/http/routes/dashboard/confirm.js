// Asking before a destructive action: switching off or power-cycling nodes that are on names
// them and waits for the operator. Switching on never asks (as the vendor's `power N on`).
import { $, el } from "./dom.js";

const VERBS = {
  off: { title: "Power off", says: "switch off now: what runs on them stops without a shutdown" },
  cycle: {
    title: "Power cycle",
    says: "switch off and on again: what runs on them stops without a shutdown",
  },
};

/** Names listed in full; more are counted. */
const LISTED = 12;

/** Whether `action` on these nodes needs the operator's yes: off or cycle of a node that is on. */
export function needsConfirmation(action, targets) {
  return action in VERBS && targets.some((n) => isOn(n));
}

function isOn(n) {
  return n.power.actual === "on" || n.power.desired === "on";
}

/**
 * Asks whether to apply `action` to `targets` (NodeStatus objects), naming each node that is
 * on. Resolves true when the operator confirms, false on Cancel or Escape.
 */
export function confirmPower(action, targets, scope = "") {
  const verb = VERBS[action];
  const on = targets.filter(isOn);
  const dlg = $("#confirm");
  const count = on.length === 1 ? `node ${on[0].id}` : `${on.length} nodes`;
  $("#confirm-title").textContent = `${verb.title} ${count}${scope ? ` (${scope})` : ""}?`;
  const rest = targets.length - on.length;
  $("#confirm-text").textContent = `${on.length === 1 ? "It would" : "They would"} ${verb.says}.` +
    (rest > 0 ? ` ${rest} more ${rest === 1 ? "is" : "are"} off already.` : "");
  const list = $("#confirm-nodes");
  list.replaceChildren(
    ...on.slice(0, LISTED).map((n) => {
      const li = el("li", "", `${n.hostname} (node ${n.id}, BitBar ${n.bus}) — ${n.lifecycle}`);
      li.dataset.node = String(n.id);
      return li;
    }),
  );
  if (on.length > LISTED) list.append(el("li", "more", `… and ${on.length - LISTED} more`));
  $("#confirm-ok").textContent = `${verb.title} ${count}`;
  dlg.returnValue = "";
  dlg.showModal();
  $("#confirm-cancel").focus();
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
  });
}
