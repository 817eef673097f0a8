/**
 * An SQLite database held in exclusive locking mode: while one process has it open, another
 * cannot. The hub uses it for its store (one hub per data directory) and as the lock on the
 * control-plane hardware (one hub per module).
 */
import { DatabaseSync } from "node:sqlite";
import { StoreLockedError } from "./store.ts";

/**
 * Opens `path` exclusively; a `StoreLockedError` saying `inUse` when another process holds it.
 */
export function openExclusiveDb(path: string, inUse: string): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;");
    db.exec("PRAGMA synchronous = NORMAL; BEGIN EXCLUSIVE; COMMIT;");
  } catch (e) {
    db.close();
    if (/locked|busy/i.test(String(e))) throw new StoreLockedError(inUse, path);
    throw e;
  }
  return db;
}
