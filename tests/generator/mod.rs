//! Random well-formed programs for the property tests.
//!
//! Programs have 2–4 definitions built from linear maps, elementwise functions,
//! sums, differences, Hadamard products, broadcasts and softmax-like quotients
//! over three dimensions; the loss is either defined (a sum of squares) or left
//! to the outputs; `--wrt` is a random input or intermediate. A program is
//! built from a vector of choices, so proptest shrinks a failure to a small
//! program.

/// Reads choices from the vector, cycling.
struct Choices<'a> {
    v: &'a [u32],
    at: usize,
}

impl Choices<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let x = self.v.get(self.at % self.v.len().max(1)).copied().unwrap_or(0);
        self.at += 1;
        x as usize % n
    }
}

/// Dimensions are 0, 1, 2; their index letters in a definition are chosen per use.
type Shape = Vec<usize>;

struct Builder {
    tensors: Vec<(String, Shape, bool)>, // name, shape, defined
    inputs: usize,
    lines: Vec<String>,
    /// The previous definition, which the next one must read.
    previous: Option<(String, Shape)>,
}

impl Builder {
    fn input(&mut self, shape: &Shape) -> String {
        self.inputs += 1;
        let name = match shape.len() {
            0 => format!("c{}", self.inputs),
            1 => format!("v{}", self.inputs),
            _ => format!("A{}", self.inputs),
        };
        self.tensors.push((name.clone(), shape.clone(), false));
        name
    }

    /// A tensor of this shape: the previous definition first, then mostly
    /// earlier definitions, else an existing or new input.
    fn operand(&mut self, shape: &Shape, c: &mut Choices) -> String {
        if let Some((name, s)) = &self.previous {
            if s == shape {
                let name = name.clone();
                self.previous = None;
                return name;
            }
        }
        let defined: Vec<String> = self
            .tensors
            .iter()
            .filter(|(_, s, d)| s == shape && *d)
            .map(|(n, _, _)| n.clone())
            .collect();
        if !defined.is_empty() && c.pick(2) == 0 {
            return defined[c.pick(defined.len())].clone();
        }
        let fits: Vec<String> = self
            .tensors
            .iter()
            .filter(|(_, s, _)| s == shape)
            .map(|(n, _, _)| n.clone())
            .collect();
        if !fits.is_empty() && c.pick(3) > 0 {
            fits[c.pick(fits.len())].clone()
        } else {
            self.input(shape)
        }
    }
}

fn access(name: &str, ix: &[&str]) -> String {
    if ix.is_empty() {
        name.to_string()
    } else {
        format!("{name}_{}", ix.concat())
    }
}

/// An expression of the given shape, indexed by `ix` (one letter per axis).
fn expr(b: &mut Builder, shape: &Shape, ix: &[&str], depth: usize, c: &mut Choices) -> String {
    let leaf = |b: &mut Builder, c: &mut Choices| {
        let t = b.operand(shape, c);
        access(&t, ix)
    };
    if depth == 0 {
        return leaf(b, c);
    }
    match c.pick(9) {
        0 => leaf(b, c),
        1 => {
            let f = [
                "exp", "tanh", "σ", "softplus", "relu", "h", "sin", "cos", "erf", "max", "min",
            ][c.pick(11)];
            let x = expr(b, shape, ix, depth - 1, c);
            if matches!(f, "max" | "min") {
                format!("{f}({x}, {})", expr(b, shape, ix, depth - 1, c))
            } else {
                format!("{f}({x})")
            }
        }
        2 => format!(
            "{} + {}",
            expr(b, shape, ix, depth - 1, c),
            expr(b, shape, ix, depth - 1, c)
        ),
        3 => format!(
            "{} - ({})",
            expr(b, shape, ix, depth - 1, c),
            expr(b, shape, ix, depth - 1, c)
        ),
        4 => format!(
            "({}) ({})",
            expr(b, shape, ix, depth - 1, c),
            expr(b, shape, ix, depth - 1, c)
        ),
        5 => {
            // a linear map over a fresh dimension: Σ_k X_{…k} Y_{k…} or M v
            let k = ["k", "l"][depth % 2];
            let inner = c.pick(3);
            match shape.len() {
                0 => {
                    let v = b.operand(&vec![inner], c);
                    let w = b.operand(&vec![inner], c);
                    format!("Σ_{k} {} {}", access(&v, &[k]), access(&w, &[k]))
                }
                1 => {
                    let m = b.operand(&vec![shape[0], inner], c);
                    let v = b.operand(&vec![inner], c);
                    format!("Σ_{k} {} {}", access(&m, &[ix[0], k]), access(&v, &[k]))
                }
                _ => {
                    let x = b.operand(&vec![shape[0], inner], c);
                    let y = b.operand(&vec![inner, shape[1]], c);
                    format!("Σ_{k} {} {}", access(&x, &[ix[0], k]), access(&y, &[k, ix[1]]))
                }
            }
        }
        6 if shape.len() == 2 => {
            // softmax-like quotient over the last axis
            let x = b.operand(shape, c);
            let k = ["k", "l"][depth % 2];
            format!("exp({}) / Σ_{k} exp({})", access(&x, ix), access(&x, &[ix[0], k]))
        }
        7 if !shape.is_empty() => {
            // broadcast a vector along the last axis, or a scalar
            let last = *shape.last().unwrap();
            let v = b.operand(&vec![last], c);
            format!(
                "{} + {}",
                expr(b, shape, ix, depth - 1, c),
                access(&v, &ix[ix.len() - 1..])
            )
        }
        8 => {
            let n = [2, 3][c.pick(2)];
            format!("{}/{} {}", c.pick(3) + 1, n, leaf(b, c))
        }
        _ => leaf(b, c),
    }
}

/// A program, its loss name and a tensor to differentiate by.
pub fn program(choices: &[u32]) -> (String, String) {
    let mut c = Choices { v: choices, at: 0 };
    let mut b = Builder {
        tensors: Vec::new(),
        inputs: 0,
        lines: Vec::new(),
        previous: None,
    };
    let definitions = 2 + c.pick(3);
    let mut shape: Shape = vec![];
    for n in 0..definitions {
        // mostly the previous definition's shape, so that it can be read directly
        if n == 0 || c.pick(3) == 0 {
            let order = [1, 2, 2][c.pick(3)];
            shape = (0..order).map(|_| c.pick(3)).collect();
        }
        let order = shape.len();
        let ix = ["i", "j"];
        let mut rhs = expr(&mut b, &shape, &ix[..order], 2, &mut c);
        // Read the previous definition if the expression did not: add it,
        // through a linear map when the shapes differ.
        if let Some((prev, pshape)) = b.previous.take() {
            let term = if pshape == shape {
                access(&prev, &ix[..order])
            } else if pshape.len() == 1 {
                let m = b.operand(&[shape.clone(), pshape.clone()].concat(), &mut c);
                let mut idx: Vec<&str> = ix[..order].to_vec();
                idx.push("m");
                format!("Σ_m {} {}", access(&m, &idx), access(&prev, &["m"]))
            } else {
                let m = b.operand(&[shape.clone(), vec![pshape[0]]].concat(), &mut c);
                let mut idx: Vec<&str> = ix[..order].to_vec();
                idx.push("m");
                format!("Σ_mn {} {}", access(&m, &idx), access(&prev, &["m", "n"]))
            };
            rhs = format!("{rhs} + {}", term);
        }
        let name = format!("D{n}");
        b.lines.push(format!("{} = {rhs}", access(&name, &ix[..order])));
        b.tensors.push((name.clone(), shape.clone(), true));
        b.previous = Some((name, shape.clone()));
    }
    // The loss: a sum of squares of the last definition, or unknown.
    let (last, shape, _) = b.tensors.last().unwrap().clone();
    if c.pick(2) == 0 {
        let ix = ["i", "j"];
        let sum = if shape.len() == 1 { "Σ_i" } else { "Σ_ij" };
        b.lines
            .push(format!("L = {sum} {}^2", access(&last, &ix[..shape.len()])));
    }
    // anything but the last definition (whose gradient is given or trivial)
    let candidates: Vec<String> = b
        .tensors
        .iter()
        .filter(|(n, _, _)| *n != last)
        .map(|(n, _, _)| n.clone())
        .collect();
    let wrt = candidates[c.pick(candidates.len())].clone();
    (b.lines.join("\n"), wrt)
}
