/** The agent's logging seam: console by default, silent or capturing in tests. */

/** Where the agent writes what it has to say. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Logs to stderr with a level prefix (journald keeps the timestamps). */
export const consoleLogger: Logger = {
  info: (m) => console.error(`info: ${m}`),
  warn: (m) => console.error(`warn: ${m}`),
  error: (m) => console.error(`error: ${m}`),
};

/** Discards everything. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Keeps every message, for assertions in tests. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(m: string): void {
    this.lines.push(`info: ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn: ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error: ${m}`);
  }
}
