/** The services every module-wide run (self test, active test, bootstrap) works with. */
import type { Clock } from "../../../shared/clock.ts";
import type { NodeMap } from "../../../shared/node_map.ts";
import type { EventLog } from "../../events/event_log.ts";
import type { Store } from "../../store/store.ts";
import type { NodeTracker } from "../node_tracker.ts";
import type { PowerControl } from "../power_control.ts";
import type { PowerSequencer } from "../power_sequencer.ts";

/** What a module-wide run needs from the hub. */
export interface RunServices {
  map: NodeMap;
  store: Store;
  events: EventLog;
  clock: Clock;
  tracker: NodeTracker;
  sequencer: PowerSequencer;
  power: PowerControl;
}
