/**
 * `cm console`'s escape sequences, as in ssh and `ipmitool sol`: a `~` typed at the start of
 * a line (after Enter, or first) is held back and the next key says what to do — `~.` quit,
 * `~t` take the writer role, `~?` help, `~~` send one `~`. Any other key sends both. Pure:
 * bytes in, bytes to send and commands out.
 */

/** What an escape asks for. */
export type EscapeCommand = "quit" | "takeover" | "help";

/** The help `~?` shows. */
export const ESCAPE_HELP = [
  "Supported escape sequences (after Enter):",
  "  ~.  quit (the node keeps running)",
  "  ~t  take over typing from another session",
  "  ~?  this help",
  "  ~~  send one ~",
].join("\r\n");

const TILDE = 0x7e;
const CR = 0x0d;
const LF = 0x0a;

/** Splits typed bytes into bytes for the console and escape commands. */
export class EscapeReader {
  #lineStart = true;
  #tilde = false;

  /**
   * Feeds typed bytes. Returns what to send and the commands, in order; after `quit`
   * nothing further is read.
   */
  feed(input: Uint8Array): { send: Uint8Array; commands: EscapeCommand[] } {
    const send: number[] = [];
    const commands: EscapeCommand[] = [];
    for (const b of input) {
      if (this.#tilde) {
        this.#tilde = false;
        if (b === 0x2e) { // "."
          commands.push("quit");
          break;
        }
        // After a command another escape may follow at once, as in ssh.
        if (b === 0x74) commands.push("takeover"); // "t"
        else if (b === 0x3f) commands.push("help"); // "?"
        else {
          send.push(...(b === TILDE ? [TILDE] : [TILDE, b]));
          this.#lineStart = b === CR || b === LF;
        }
        continue;
      }
      if (this.#lineStart && b === TILDE) {
        this.#tilde = true;
        continue;
      }
      send.push(b);
      this.#lineStart = b === CR || b === LF;
    }
    return { send: new Uint8Array(send), commands };
  }
}
