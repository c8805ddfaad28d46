// Typesets a derivation with KaTeX: for each result its index form, its
// numbered steps and its matrix form. The elements of the index and matrix
// forms carry the command line's text in `data-text` (SPEC §6).

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `latex` typeset into `node`, or `fallback` as text where there is no LaTeX. */
function typeset(node, latex, fallback, display = true) {
  if (latex && window.katex) {
    window.katex.render(latex, node, { displayMode: display, throwOnError: false, strict: "ignore" });
  } else {
    node.textContent = fallback;
    node.classList.add("ricci-plain");
  }
}

/** A step's LaTeX `lhs &= rhs \qquad \text{why}` as its two sides. */
function sides(latex) {
  const at = latex.indexOf("&=");
  if (at < 0) return [latex, ""];
  return [latex.slice(0, at).trim(), latex.slice(at + 2).trim()];
}

function stepsTable(steps, first) {
  const table = el("table", "ricci-steps");
  steps.forEach((step, k) => {
    const row = table.insertRow();
    row.dataset.text = step.text;
    row.insertCell().append(el("span", "ricci-step-number", `(${first + k})`));
    const [lhs, rhs] = sides(step.latex);
    const left = row.insertCell();
    left.className = "ricci-step-lhs";
    if (lhs) typeset(left, `\\displaystyle ${lhs}`, step.text, false);
    const right = row.insertCell();
    typeset(right, `\\begin{aligned}&= ${rhs}\\end{aligned}`, step.text, false);
  });
  return table;
}

/** Replaces `output`'s content with the derivation `answer` (the binding's JSON). */
export function renderDerivation(output, answer) {
  output.replaceChildren();
  let number = 1;
  for (const r of answer.results) {
    const section = el("section", "ricci-result");
    section.dataset.wrt = r.wrt;
    if (r.kind && r.kind !== "gradient") section.append(el("p", "ricci-kind", r.kind));
    const index = el("div", "ricci-index");
    index.dataset.text = r.index_text;
    index.title = r.index_text;
    typeset(index, r.index_latex, r.index_text);
    section.append(index);
    if (r.steps.length) {
      section.append(stepsTable(r.steps, number));
      number += r.steps.length;
    }
    const matrix = el("div", "ricci-matrix");
    matrix.dataset.text = r.matrix_text;
    matrix.title = r.matrix_text;
    typeset(matrix, r.matrix_latex, r.matrix_text);
    section.append(matrix);
    output.append(section);
  }
}

/** Shows a refused program: the rendered diagnostic (line, column, caret). */
export function renderError(output, error) {
  output.replaceChildren();
  const pre = el("pre", "ricci-error", error.rendered);
  const first = error.diagnostics.find((d) => d.line);
  if (first) {
    pre.dataset.line = first.line;
    pre.dataset.column = first.column;
  }
  output.append(pre);
  return first;
}
