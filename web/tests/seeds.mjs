// The seed cases (tests/cases/derive/*.ricci, read by tests/derive.rs) and
// the command line's text for each, to compare the page with.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Each seed case: {file, source, wrt, layout}, from its `# expect W: …` and `# layout:` lines. */
export function seedCases(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ricci"))
    .sort()
    .map((file) => {
      const source = readFileSync(join(dir, file), "utf8");
      const wrt = [...source.matchAll(/^# expect (\S+):/gm)].map((m) => m[1]);
      const layout = /^# layout: numerator/m.test(source) ? "numerator" : "gradient";
      return { file, path: join(dir, file), source, wrt, layout };
    });
}

/** The command line's [index line, matrix line] for each result of `seed`. */
export function cliForms(cli, seed) {
  const args = ["derive", seed.path, "--layout", seed.layout];
  for (const w of seed.wrt) args.push("--wrt", w);
  const text = execFileSync(cli, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return text
    .trim()
    .split("\n\n")
    .map((block) => block.split("\n"));
}
