/**
 * A bay LED class directory as the kernel's after the agent unit's ExecStartPre (`[pattern]`
 * selected, its files writable): plain files under a temp sysfs root, for the agent run as a
 * process with `--led-engine kernel --sysfs-root` (tests, bench:agent). In-process tests use
 * the model of the kernel's behaviour, `tests/agent/fake_led_class.ts`.
 */

/** Makes `sys`/class/leds/bay; returns its path. */
export async function ledClassDir(sys: string): Promise<string> {
  const led = `${sys}/class/leds/bay`;
  await Deno.mkdir(led, { recursive: true });
  await Deno.writeTextFile(`${led}/trigger`, "none timer heartbeat [pattern]\n");
  await Deno.writeTextFile(`${led}/pattern`, "");
  await Deno.writeTextFile(`${led}/repeat`, "-1\n");
  await Deno.writeTextFile(`${led}/brightness`, "0\n");
  return led;
}

/**
 * A temp dir on tmpfs where there is one (/dev/shm), as sysfs is in memory: on a journalled
 * disk (ext4) a write with `O_TRUNC`, as each restart of the pattern is, can wait on the
 * journal, a wake-up that is the disk's, not the agent's.
 */
export function memoryTempDir(prefix: string): Promise<string> {
  let dir: string | undefined;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) dir = "/dev/shm";
  } catch { /* none: the default temp dir */ }
  return Deno.makeTempDir({ dir, prefix });
}
