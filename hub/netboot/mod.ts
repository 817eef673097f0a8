/**
 * Netboot's public face, for the scripts that render the hub's files outside a running hub
 * (the node image's card, the example configs): settings and the pure renderers. Everything
 * else in hub/netboot/ is internal.
 */
export { loadNetbootSettings } from "./settings/settings_file.ts";
export { type NetbootSettings, netbootSettings } from "./settings/settings.ts";
export { renderNetbootFiles } from "./render/all.ts";
export { renderWpaSupplicant } from "./render/wifi.ts";
export { renderZeroCardCmdline, renderZeroCardConfigTxt } from "./render/sd_card.ts";
