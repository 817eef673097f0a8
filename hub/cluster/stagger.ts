/**
 * Inrush limiting as a pure schedule: which nodes switch at which step so that no bus
 * switches more than `perBus` nodes (and the module no more than `perStep`) in one step.
 */

/** Splits `nodes` (in order) into steps honouring the per-bus and per-step limits. */
export function staggerSteps(
  nodes: readonly number[],
  busOf: (node: number) => number,
  perBus: number,
  perStep = Infinity,
): number[][] {
  if (perBus < 1 || perStep < 1) throw new Error("stagger limits must be at least 1");
  const steps: number[][] = [];
  const perBusCount: Map<number, number>[] = [];
  for (const node of nodes) {
    const bus = busOf(node);
    let k = 0;
    while (
      k < steps.length &&
      (steps[k].length >= perStep || (perBusCount[k].get(bus) ?? 0) >= perBus)
    ) k++;
    if (k === steps.length) {
      steps.push([]);
      perBusCount.push(new Map());
    }
    steps[k].push(node);
    perBusCount[k].set(bus, (perBusCount[k].get(bus) ?? 0) + 1);
  }
  return steps;
}
