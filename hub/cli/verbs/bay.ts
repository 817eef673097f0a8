/** `bay enable|disable SET`: which bays bootstrap and the default runs include. */
import { ClusterError } from "../../../shared/errors.ts";
import { formatNodeSet } from "../../../shared/range.ts";
import type { CliCommand } from "../command.ts";

/** `cm bay enable|disable SET` */
export const bayCommand: CliCommand = {
  name: "bay",
  usage: "bay enable|disable SET",
  summary: "include bays in bootstrap and default runs, or leave them out (nothing is switched)",
  words: ["enable", "disable"],
  flags: {},
  help: "A disabled bay keeps its power; bulk runs without a SET leave it out.\n" +
    "Example: cm bay disable 17-22,24-29 (the Pi Zero W bays, which cannot netboot).",
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if ((sub !== "enable" && sub !== "disable") || rest.length < 1 || rest.length > 2) {
      throw new ClusterError("bad_request", `usage: ${bayCommand.usage}`);
    }
    const r = await ctx.api.post<{ enabled: number[]; disabled: number[] }>("/enabled", {
      nodes: rest.join(" "),
      enabled: sub === "enable",
    });
    if (ctx.json) ctx.out(JSON.stringify(r, null, 2));
    else {
      ctx.out(`bays ${rest.join(" ")} ${sub}d`);
      ctx.out(`enabled:  ${r.enabled.length ? formatNodeSet(r.enabled) : "none"}`);
      ctx.out(`disabled: ${r.disabled.length ? formatNodeSet(r.disabled) : "none"}`);
    }
    return 0;
  },
};
