/**
 * Inrush limiting as a pure schedule: which nodes switch at which step so that no bus
 * switches more than `perBus` nodes (and the module no more than `perStep`) in one step.
 */

/**
 * Splits `nodes` into steps honouring the per-bus and per-step limits. Each step takes up
 * to `perBus` nodes from each bus in turn, resuming after the last bus served, so a step is
 * always filled when work remains (ceil(n / perStep) steps where the buses allow it). Nodes
 * of one bus keep their input order, and so do the nodes within a step.
 */
export function staggerSteps(
  nodes: readonly number[],
  busOf: (node: number) => number,
  perBus: number,
  perStep = Infinity,
): number[][] {
  if (perBus < 1 || perStep < 1) throw new Error("stagger limits must be at least 1");
  const queues = new Map<number, number[]>();
  for (const node of nodes) {
    const bus = busOf(node);
    const q = queues.get(bus);
    if (q) q.push(node);
    else queues.set(bus, [node]);
  }
  const buses = [...queues.keys()];
  const position = new Map(nodes.map((n, i) => [n, i]));
  const steps: number[][] = [];
  let cursor = 0;
  let left = nodes.length;
  while (left > 0) {
    const step: number[] = [];
    let lastServed = cursor - 1;
    for (let k = 0; k < buses.length && step.length < perStep; k++) {
      const i = (cursor + k) % buses.length;
      const q = queues.get(buses[i])!;
      const take = Math.min(perBus, perStep - step.length, q.length);
      if (take > 0) {
        step.push(...q.splice(0, take));
        lastServed = i;
      }
    }
    cursor = (lastServed + 1) % buses.length;
    left -= step.length;
    steps.push(step.sort((a, b) => position.get(a)! - position.get(b)!));
  }
  return steps;
}
