/** Counted nouns for messages: "1 node", "2 nodes", "1 bus", "3 buses". */

/** `n` and the noun, singular for exactly one. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
