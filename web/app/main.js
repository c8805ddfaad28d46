// The page: the editor, the tensors and options, and the results. Every
// change re-derives in the worker; the URL fragment follows the state.
import { EXAMPLES } from "./examples.js";
import { Engine } from "./engine.js";
import { readFragment, writeFragment } from "./fragment.js";
import { renderDerivation, renderError } from "./render.js";

const $ = (id) => document.getElementById(id);
const ui = {
  program: $("program"),
  examples: $("examples"),
  tensors: $("tensors"),
  of: $("of"),
  steps: $("steps"),
  layout: $("layout"),
  ascii: $("ascii"),
  hessian: $("hessian"),
  einstein: $("einstein"),
  output: $("output"),
  status: $("status"),
  notice: $("notice"),
  text: $("text"),
  numpy: $("numpy"),
  copyLatex: $("copy-latex"),
  copyNumpy: $("copy-numpy"),
  copyLink: $("copy-link"),
};

// What the tests and the measurements read: timings, and the engine itself.
const metrics = { firstDerivationMs: null, lastDeriveMs: null, derivations: 0 };
const engine = new Engine(new URL("./worker.js", import.meta.url), (reason) => notice(reason));
window.ricci = { engine, metrics, state: null };

let state = null;
let last = null; // the last derivation's answer, for the copy buttons
let serial = 0; // the newest request; older answers are dropped

function notice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
}

function setStatus(text) {
  ui.status.textContent = text;
}

/** The checked tensors, in the order they were chosen (the order of the results). */
function chosen() {
  const checked = [...ui.tensors.querySelectorAll("input:checked")].map((c) => c.value);
  const before = state ? state.wrt.filter((w) => checked.includes(w)) : [];
  return [...before, ...checked.filter((w) => !before.includes(w))];
}

/** The state the controls show. */
function readControls() {
  return {
    program: ui.program.value,
    wrt: chosen(),
    of: ui.of.value.trim() || "L",
    layout: ui.layout.value,
    steps: ui.steps.checked,
    ascii: ui.ascii.checked,
    hessian: ui.hessian.checked,
    einstein: ui.einstein.checked,
  };
}

function showState(s) {
  ui.program.value = s.program;
  ui.of.value = s.of;
  ui.layout.value = s.layout;
  for (const flag of ["steps", "ascii", "hessian", "einstein"]) ui[flag].checked = s[flag];
}

/** One checkbox a tensor, inputs first; a `--wrt` the program lacks is kept (and explained by the derivation). */
function showTensors(inputs, defined, wanted) {
  ui.tensors.replaceChildren();
  const listed = new Set([...inputs, ...defined]);
  const chip = (name, group) => {
    const label = document.createElement("label");
    label.className = `ricci-tensor ${group}`;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.checked = wanted.includes(name);
    box.addEventListener("change", () => derive());
    label.append(box, ` ${name}`);
    ui.tensors.append(label);
  };
  inputs.forEach((n) => chip(n, "input"));
  defined.forEach((n) => chip(n, "defined"));
  wanted.filter((w) => !listed.has(w)).forEach((n) => chip(n, "missing"));
}

/** Parses the program for its tensors (as it is typed), then derives. */
async function refresh({ keepMissing }) {
  const s = readControls();
  const mine = ++serial;
  let wanted = state ? state.wrt : s.wrt;
  try {
    const { answer } = await engine.tensors(s.program, s.of, s.einstein);
    if (mine !== serial) return;
    if (answer.ok) {
      const listed = new Set([...answer.inputs, ...answer.defined]);
      // An example without chosen tensors: every input.
      if (wanted === null) wanted = answer.inputs;
      if (!keepMissing) wanted = wanted.filter((w) => listed.has(w));
      showTensors(answer.inputs, answer.defined, wanted);
    }
  } catch (error) {
    // The engine was restarted: the derivation waits for the next change or a click on Derive.
    if (mine === serial) notice(error.message);
    return;
  }
  await derive();
}

/** Derives what the controls say and shows it. */
async function derive() {
  state = readControls();
  window.ricci.state = state;
  history.replaceState(null, "", writeFragment(state));
  const mine = ++serial;
  setStatus("deriving…");
  const options = { ...state };
  delete options.program;
  try {
    const { answer, ms } = await engine.derive(state.program, options);
    if (mine !== serial) return;
    metrics.lastDeriveMs = ms;
    metrics.derivations += 1;
    show(answer, ms);
  } catch (error) {
    if (mine !== serial) return;
    setStatus("");
    notice(error.message);
  }
}

function show(answer, ms) {
  notice("");
  if (answer.ok) {
    last = answer;
    renderDerivation(ui.output, answer);
    ui.text.textContent = answer.text;
    ui.numpy.textContent = answer.numpy;
    setStatus(`derived in ${ms.toFixed(1)} ms`);
    if (metrics.firstDerivationMs === null) metrics.firstDerivationMs = performance.now();
  } else {
    last = null;
    const at = renderError(ui.output, answer.error);
    ui.text.textContent = "";
    ui.numpy.textContent = "";
    setStatus(at ? `error at line ${at.line}, column ${at.column}` : "error");
    if (at && document.activeElement !== ui.program) markError(at);
  }
  for (const b of [ui.copyLatex, ui.copyNumpy]) b.disabled = !answer.ok;
  document.body.dataset.ready = "1";
}

/** Moves the editor's selection to a diagnostic's line and column (without focusing it). */
function markError({ line, column }) {
  const lines = ui.program.value.split("\n");
  let at = 0;
  for (let k = 0; k < line - 1 && k < lines.length; k++) at += lines[k].length + 1;
  at += [...(lines[line - 1] || "")].slice(0, column - 1).join("").length;
  ui.program.setSelectionRange(at, at + 1);
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  document.body.dataset.copied = text;
  const label = button.textContent;
  button.textContent = "copied";
  setTimeout(() => (button.textContent = label), 1200);
}

function loadExample(example) {
  state = { ...readControls(), program: example.source, wrt: example.wrt, of: "L" };
  showState(state);
  refresh({ keepMissing: true });
}

function debounce(f, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => f(...args), ms);
  };
}

function wire() {
  for (const example of EXAMPLES) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = example.title;
    button.title = example.file;
    button.dataset.example = example.file;
    button.addEventListener("click", () => loadExample(example));
    ui.examples.append(button);
  }
  const typed = debounce(() => refresh({ keepMissing: false }), 200);
  ui.program.addEventListener("input", () => {
    state = readControls();
    typed();
  });
  ui.of.addEventListener("change", () => refresh({ keepMissing: true }));
  ui.einstein.addEventListener("change", () => refresh({ keepMissing: true }));
  for (const control of [ui.steps, ui.ascii, ui.hessian, ui.layout]) control.addEventListener("change", () => derive());
  $("derive").addEventListener("click", () => refresh({ keepMissing: true }));
  ui.copyLatex.addEventListener("click", () => last && copy(last.latex, ui.copyLatex));
  ui.copyNumpy.addEventListener("click", () => last && copy(last.numpy, ui.copyNumpy));
  ui.copyLink.addEventListener("click", () => copy(location.href, ui.copyLink));
  window.addEventListener("hashchange", () => {
    const s = readFragment(location.hash);
    if (s && (!state || writeFragment(s) !== writeFragment(state))) start(s);
  });
}

function start(s) {
  state = s;
  showState(s);
  refresh({ keepMissing: true });
}

wire();
const fromLink = readFragment(location.hash);
const first = EXAMPLES[0];
start(
  fromLink || {
    program: first.source,
    wrt: first.wrt,
    of: "L",
    layout: "gradient",
    steps: false,
    ascii: false,
    hessian: false,
    einstein: false,
  },
);
