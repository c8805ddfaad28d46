// End-to-end tests of web/dist in headless Chromium (Debian's, driven by
// playwright-core). Run after web/build.sh and a build of the command line:
//   node --test web/tests/   (RICCI_CLI: the ricci binary, target/debug/ricci by default;
//   RICCI_SCREENSHOT: where to save the page's screenshot)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";
import { cliForms, seedCases } from "./seeds.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const dist = resolve(here, "../dist");
const cli = process.env.RICCI_CLI || join(root, "target/debug/ricci");
const LINEAR = "index s : S; index m : M; index n : N\nY_sn = Σ_m X_sm W_nm + b_n\n";

let server;
let browser;
const figures = {};

before(async () => {
  assert.ok(existsSync(join(dist, "index.html")), "web/dist is not built: run web/build.sh");
  server = await serve(dist);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.close();
  if (Object.keys(figures).length) console.log(`web figures: ${JSON.stringify(figures)}`);
});

/** A fresh page at `fragment`, once it has shown a result or an error. */
async function open(fragment = "") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${server.url}index.html${fragment}`);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

const link = (program, wrt, extra = "") => `#program=${encodeURIComponent(program)}&wrt=${wrt.map(encodeURIComponent).join(",")}${extra}`;
const texts = (page, selector) => page.$$eval(selector, (els) => els.map((e) => e.dataset.text));
const waitForText = (page, selector, text) =>
  page.waitForFunction(([s, t]) => [...document.querySelectorAll(s)].some((e) => e.dataset.text === t), [selector, text]);

test("the page loads with the linear layer derived and typeset", async () => {
  const page = await open();
  assert.equal(await page.title(), "ricci — gradients in index notation");
  assert.deepEqual(await texts(page, ".ricci-matrix"), ["∂L/∂W = (∂L/∂Y)ᵀ X", "∂L/∂b = 1ᵀ ∂L/∂Y"]);
  assert.deepEqual(await texts(page, ".ricci-index"), ["∂L/∂W_ij = Σ_s (∂L/∂Y)_si X_sj", "∂L/∂b_j = Σ_s (∂L/∂Y)_sj"]);
  assert.ok((await page.$$(".ricci-matrix .katex")).length === 2, "the matrix forms are typeset with KaTeX");
  assert.ok(!(await page.$(".ricci-matrix .katex-error")), "KaTeX refused the LaTeX");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("each example is one click away; the linear layer derives (∂L/∂Y)ᵀ X", async () => {
  const page = await open(link("L = Σ_i x_i^2", ["x"]));
  const examples = await page.$$eval("#examples button", (bs) => bs.map((b) => b.dataset.example));
  const bundled = readdirSync(join(dirname(fileURLToPath(import.meta.url)), "../../examples"))
    .filter((f) => f.endsWith(".ricci"))
    .sort();
  assert.deepEqual(examples.sort(), bundled, "every example of examples/ has its button");
  await page.click("button[data-example='mlp.ricci']");
  await waitForText(page, ".ricci-matrix", "∂L/∂W⁽²⁾ = 2 (ŷ − y) z⁽¹⁾ᵀ");
  await page.click("button[data-example='linear.ricci']");
  await waitForText(page, ".ricci-matrix", "∂L/∂W = (∂L/∂Y)ᵀ X");
  assert.match(page.url(), /#program=.*&wrt=W,b/);
  await page.context().close();
});

test("a link with the program and options shows its result on load", async () => {
  const program = "index n : N\nY_nh = Σ_d X_nd W_dh\n";
  const page = await open(link(program, ["X"], "&steps=1"));
  assert.equal(await page.inputValue("#program"), program);
  assert.ok(await page.isChecked("#steps"));
  assert.deepEqual(await texts(page, ".ricci-matrix"), ["∂L/∂X = ∂L/∂Y Wᵀ"]);
  const steps = await texts(page, ".ricci-steps tr");
  assert.ok(steps.length >= 3, `${steps}`);
  assert.ok(steps[0].startsWith("∂L/∂X_ij = "), steps[0]);
  assert.equal(await page.$$eval(".ricci-step-number", (n) => n[0].textContent), "(1)");
  await page.context().close();
});

test("the options reach the engine: layout, ASCII, the loss, the Hessian", async () => {
  const page = await open(link(LINEAR, ["W"], "&layout=numerator&ascii=1"));
  assert.deepEqual(await texts(page, ".ricci-matrix"), ["dL/dW = X^T dL/dY"]);
  assert.match(await page.textContent("#text"), /^dL\/dW_ij = /);
  await page.check("#hessian");
  // Refused until second derivatives land; then a Hessian result.
  await page.waitForFunction(() => {
    const e = document.querySelector(".ricci-error");
    return (e && e.textContent.includes("--hessian")) || document.querySelector(".ricci-result .ricci-kind");
  });
  await page.uncheck("#hessian");
  // The program has no L: any loss is the upstream one.
  await page.fill("#of", "Q");
  await page.press("#of", "Enter");
  await waitForText(page, ".ricci-matrix", "dQ/dW = X^T dQ/dY");
  assert.match(page.url(), /of=Q/);
  await page.context().close();
});

test("the tensors to pick are the program's own, parsed as it is typed", async () => {
  const page = await open(link(LINEAR, ["W"]));
  const names = () => page.$$eval("#tensors input", (bs) => bs.map((b) => `${b.value}${b.checked ? "*" : ""}`));
  assert.deepEqual(await names(), ["W*", "X", "b", "Y"]);
  await page.fill("#program", "L = Σ_i w_i^2 v_i");
  await page.waitForFunction(() => document.querySelectorAll("#tensors input").length === 2);
  assert.deepEqual(await names(), ["v", "w"]);
  await page.check("#tensors input[value='w']");
  await waitForText(page, ".ricci-matrix", "∂L/∂w = 2 w ⊙ v");
  await page.context().close();
});

test("a bad program shows its diagnostic with line, column and caret", async () => {
  const page = await open();
  await page.fill("#program", "Y_i = x_i\nL = Σ_i (Y_i\n");
  const error = await page.waitForSelector(".ricci-error");
  const text = await error.textContent();
  assert.match(text, /--> program:2:\d+/);
  assert.match(text, /\^/);
  assert.equal(await error.getAttribute("data-line"), "2");
  assert.equal(await page.$$(".ricci-matrix").then((m) => m.length), 0);
  await page.context().close();
});

test("every seed case gives the command line's index and matrix forms", async () => {
  assert.ok(existsSync(cli), `no command line at ${cli} (set RICCI_CLI)`);
  const seeds = seedCases(join(root, "tests/cases/derive"));
  assert.ok(seeds.length >= 13, `${seeds.length} seed cases`);
  const page = await open();
  for (const seed of seeds) {
    const expected = cliForms(cli, seed);
    assert.ok(expected.every((b) => b.length === 2), `${seed.file}: ${JSON.stringify(expected)}`);
    const layout = seed.layout === "numerator" ? "&layout=numerator" : "";
    await page.evaluate(() => (document.body.dataset.ready = ""));
    await page.goto(`${server.url}index.html${link(seed.source, seed.wrt, layout)}`);
    await page.waitForSelector("body[data-ready='1']");
    await page.waitForFunction((n) => document.querySelectorAll(".ricci-matrix").length === n, expected.length);
    assert.deepEqual(await texts(page, ".ricci-matrix"), expected.map((b) => b[1]), seed.file);
    assert.deepEqual(await texts(page, ".ricci-index"), expected.map((b) => b[0]), seed.file);
  }
  await page.context().close();
});

test("a 10,000-deep nesting shows the limit error, and the page still answers", async () => {
  const page = await open();
  await page.fill("#program", `L = ${"(".repeat(10_000)}x${")".repeat(10_000)}`);
  const error = await page.waitForSelector(".ricci-error");
  assert.match(await error.textContent(), /nested more than 64 levels deep/);
  // At the limit itself (a Σ and 63 parentheses): derived.
  await page.fill("#program", `L = Σ_i ${"(".repeat(63)}x_i^2${")".repeat(63)}`);
  await page.waitForSelector("#tensors input[value='x']");
  await page.check("#tensors input[value='x']");
  await waitForText(page, ".ricci-matrix", "∂L/∂x = 2 x");
  await page.click("button[data-example='linear.ricci']");
  await waitForText(page, ".ricci-matrix", "∂L/∂W = (∂L/∂Y)ᵀ X");
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test("a derivation that takes too long is stopped, the engine restarted, and the page answers", async () => {
  const page = await open();
  await page.evaluate(() => (window.ricci.engine.timeLimitMs = 0));
  await page.click("button[data-example='mlp.ricci']");
  await page.waitForFunction(() => window.ricci.engine.restarts >= 1);
  assert.match(await page.textContent("#notice"), /took more than .* and was stopped/);
  await page.evaluate(() => (window.ricci.engine.timeLimitMs = 10_000));
  await page.click("#derive");
  await waitForText(page, ".ricci-matrix", "∂L/∂W⁽²⁾ = 2 (ŷ − y) z⁽¹⁾ᵀ");
  assert.ok(await page.isHidden("#notice"));
  await page.context().close();
});

test("the copy buttons copy the LaTeX and the NumPy", async () => {
  const page = await open();
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.click("#copy-latex");
  await page.waitForFunction(() => document.body.dataset.copied?.startsWith("\\begin{align}"));
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /\\frac\{\\partial L\}\{\\partial W\}/);
  await page.click("#copy-numpy");
  await page.waitForFunction(() => document.body.dataset.copied?.startsWith("import numpy as np"));
  assert.match(await page.evaluate(() => navigator.clipboard.readText()), /return dL_dY\.T @ X/);
  await page.context().close();
});

test("measured: load to first derivation, a seed derivation, the wasm size; a screenshot", async () => {
  const loads = [];
  for (let k = 0; k < 5; k++) {
    const page = await open();
    loads.push(await page.evaluate(() => window.ricci.metrics.firstDerivationMs));
    await page.context().close();
  }
  loads.sort((a, b) => a - b);
  figures.loadToFirstDerivationMs = Math.round(loads[2]);
  const page = await open(link(LINEAR, ["W", "b"], "&steps=1"));
  const median = async (program, wrt) => {
    const { answer } = await page.evaluate(
      ([p, w]) => window.ricci.engine.bench(p, { wrt: w }, 200),
      [program, wrt],
    );
    return Number(answer.median.toFixed(2));
  };
  figures.linearMedianMs = await median(LINEAR, ["W", "b", "X"]);
  const mlp = seedCases(join(root, "tests/cases/derive")).find((s) => s.file === "003_mlp_sigmoid.ricci");
  figures.mlpSigmoidMedianMs = await median(mlp.source, mlp.wrt);
  const size = await page.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch("pkg/ricci_web_bg.wasm")).arrayBuffer());
    const gz = new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")));
    return { raw: bytes.length, gzip: (await gz.arrayBuffer()).byteLength };
  });
  figures.wasmBytes = size.raw;
  figures.wasmGzipBytes = size.gzip;
  // Generous bounds (CI machines are shared); the goals are < 1 s and < 5 ms.
  assert.ok(figures.loadToFirstDerivationMs < 5000, `${figures.loadToFirstDerivationMs} ms to the first derivation`);
  assert.ok(figures.linearMedianMs < 50, `${figures.linearMedianMs} ms`);
  assert.ok(size.gzip < 1_000_000, `${size.gzip} bytes gzipped`);
  const shot = process.env.RICCI_SCREENSHOT || join(mkdtempSync(join(tmpdir(), "ricci-web-")), "screenshot.png");
  await page.setViewportSize({ width: 1100, height: 720 });
  await page.screenshot({ path: shot });
  figures.screenshot = shot;
  await page.context().close();
});
