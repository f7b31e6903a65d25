// Runs before every script that needs Node's type stripping, in plain JavaScript so that an
// older Node reads it: it says in one line what is needed instead of "bad option".
import { readFileSync } from "node:fs";

const wanted = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).engines.node;
const [major, minor] = process.versions.node.split(".").map(Number);
const [needMajor, needMinor] = wanted
  .replace(/^>=\s*/, "")
  .split(".")
  .map(Number);
if (major < needMajor || (major === needMajor && minor < (needMinor ?? 0))) {
  console.error(
    `This project needs Node.js ${wanted} (found ${process.version}): install Node 22 (nvm install 22, or https://nodejs.org), then run the command again.`,
  );
  process.exit(1);
}
