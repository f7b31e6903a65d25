import { readdirSync, readFileSync } from "node:fs";

/** CPU seconds of this process's workerd children (Linux /proc), in ms. */
export function workerdCpuMs(): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (name === "workerd" && Number(fields[1]) === process.pid)
        total += ((Number(fields[11]) + Number(fields[12])) / ticks) * 1000;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}
