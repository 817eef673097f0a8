/** The hub's and agent's release version. */
export const VERSION = "0.1.0";
