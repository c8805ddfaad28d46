// The URL fragment carries the program and the options, so that a derivation
// is a link: #program=<URL-encoded>&wrt=W,b&of=L&steps=1&layout=numerator&ascii=1&hessian=1&einstein=1

const FLAGS = ["steps", "ascii", "hessian", "einstein"];

/** The state a fragment describes; null for a fragment without a program. */
export function readFragment(hash) {
  const text = hash.replace(/^#/, "");
  if (!text) return null;
  const fields = {};
  for (const part of text.split("&")) {
    const at = part.indexOf("=");
    const key = at < 0 ? part : part.slice(0, at);
    const raw = at < 0 ? "" : part.slice(at + 1);
    // `+` stays a plus (a sum in a program); spaces are %20.
    try {
      fields[key] = decodeURIComponent(raw);
    } catch {
      fields[key] = raw;
    }
  }
  if (fields.program === undefined) return null;
  const state = {
    program: fields.program,
    wrt: (fields.wrt || "").split(",").map((w) => w.trim()).filter(Boolean),
    of: fields.of || "L",
    layout: fields.layout === "numerator" ? "numerator" : "gradient",
  };
  for (const flag of FLAGS) state[flag] = fields[flag] === "1" || fields[flag] === "true";
  return state;
}

/** The fragment for `state` (defaults left out). */
export function writeFragment(state) {
  const parts = [`program=${encodeURIComponent(state.program)}`];
  if (state.wrt.length) parts.push(`wrt=${state.wrt.map(encodeURIComponent).join(",")}`);
  if (state.of && state.of !== "L") parts.push(`of=${encodeURIComponent(state.of)}`);
  if (state.layout === "numerator") parts.push("layout=numerator");
  for (const flag of FLAGS) if (state[flag]) parts.push(`${flag}=1`);
  return "#" + parts.join("&");
}
