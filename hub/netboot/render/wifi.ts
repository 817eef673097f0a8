/**
 * WiFi for the Pi Zero W bays: their wpa_supplicant.conf (the guide's format) and an
 * optional hostapd.conf for running the hub as their access point.
 */
import { pbkdf2Sync } from "node:crypto";
import type { NodeMap } from "../../../shared/node_map.ts";
import type { NetbootSettings } from "../settings/settings.ts";
import { validateSettings } from "../settings/settings.ts";
import { generatedHeader } from "./dnsmasq.ts";

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * `ssid=` value: quoted when it is plain printable text, otherwise the hex form
 * wpa_supplicant accepts unquoted, so a quote in an SSID can never end the string early.
 */
export function wpaSsid(ssid: string): string {
  return /^[\x20-\x7e]*$/.test(ssid) && !/["\\]/.test(ssid)
    ? `"${ssid}"`
    : hex(new TextEncoder().encode(ssid));
}

/**
 * `psk=` value: the quoted passphrase, or when it holds a quote or backslash, the 256-bit
 * PSK wpa_supplicant would derive from it (PBKDF2-SHA1, 4096 rounds, salt = SSID), unquoted.
 */
export function wpaPsk(ssid: string, psk: string): string {
  return /["\\]/.test(psk) ? derivePsk(ssid, psk) : `"${psk}"`;
}

/** The WPA pre-shared key (64 hex digits) of a passphrase on an SSID, as IEEE 802.11i defines. */
export function derivePsk(ssid: string, passphrase: string): string {
  return hex(
    new Uint8Array(pbkdf2Sync(passphrase, new TextEncoder().encode(ssid), 4096, 32, "sha1")),
  );
}

/** `/etc/wpa_supplicant/wpa_supplicant.conf` for the Zero W nodes. */
export function renderWpaSupplicant(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const w = s.wifi;
  return [
    generatedHeader(),
    `country=${w.country}`,
    "ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev",
    "update_config=1",
    "network={",
    `    ssid=${wpaSsid(w.ssid)}`,
    `    psk=${wpaPsk(w.ssid, w.psk)}`,
    "    priority=1",
    "}",
    "",
  ].join("\n");
}

/** `hostapd.conf` for the hub as the Zero Ws' access point (WPA2-PSK, 2.4 GHz). */
export function renderHostapd(map: NodeMap, s: NetbootSettings): string {
  validateSettings(map, s);
  const w = s.wifi;
  return [
    generatedHeader(),
    `interface=${w.apInterface}`,
    ...(w.apBridge ? [`bridge=${w.apBridge}`] : []),
    "driver=nl80211",
    `country_code=${w.country}`,
    "hw_mode=g",
    `channel=${w.channel}`,
    "ieee80211n=1",
    "wmm_enabled=1",
    // ssid2 takes hex unquoted: no character of the SSID can be misread.
    `ssid2=${hex(new TextEncoder().encode(w.ssid))}`,
    "auth_algs=1",
    "wpa=2",
    "wpa_key_mgmt=WPA-PSK",
    "rsn_pairwise=CCMP",
    `wpa_passphrase=${w.psk}`,
    "",
  ].join("\n");
}
