//! The command line, a client of the library's public API: options, input,
//! printing of results and errors, exit codes. This is the only module that prints.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use std::time::{Duration, Instant};

use ricci::{
    Backend, Derivation, Diagnostic, EgraphLimits, Judgement, Limits, Program, Report, Request, Span, Style, Verdict,
    CHECK_TOLERANCE,
};

/// Exit status for bad input or bad usage (SPEC §3).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "ricci",
    version,
    about = "Derives gradients in index notation and hands them back in matrix form"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a program and print it in canonical form.
    Check {
        #[command(flatten)]
        input: InputArgs,
    },
    /// Differentiate the loss with respect to one or more tensors.
    Derive(DeriveArgs),
}

#[derive(Args, Debug)]
struct InputArgs {
    /// The program file; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// The program itself, instead of a file.
    #[arg(short = 'e', long = "expr", value_name = "PROGRAM", conflicts_with = "file")]
    inline: Option<String>,
    /// Sum an index that appears twice in a product and not on the left.
    #[arg(long)]
    einstein: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args, Debug)]
struct LimitArgs {
    /// Largest accepted input, in bytes.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_input_bytes)]
    max_input_bytes: usize,
    /// Deepest nesting of parentheses and Σ.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    max_depth: usize,
    /// Most statements in one program.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_statements)]
    max_statements: usize,
    /// Longest number literal, in digits.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_number_digits)]
    max_number_digits: usize,
    /// Most distinct index names in one program.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_indices)]
    max_indices: usize,
}

#[derive(Args, Debug)]
struct DeriveArgs {
    #[command(flatten)]
    input: InputArgs,
    /// A tensor to differentiate by (repeat for several; a repeat is dropped).
    /// Without it, the error lists the program's tensors.
    #[arg(long = "wrt", value_name = "TENSOR")]
    wrt: Vec<String>,
    /// The loss to differentiate; a defined tensor of order ≥ 1 gives its
    /// Jacobian ∂Y/∂X (rows follow Y, in either layout).
    #[arg(long = "of", value_name = "NAME", default_value = "L")]
    of: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print the numbered derivation.
    #[arg(long)]
    steps: bool,
    /// Gradient layout (∂L/∂W has W's shape) or numerator layout (transposed).
    #[arg(long, value_enum, default_value_t = Layout::Gradient)]
    layout: Layout,
    /// Second derivatives: the Hessian ∂²L/∂X∂X of each --wrt X.
    #[arg(long, conflicts_with = "hvp")]
    hessian: bool,
    /// The Hessian-vector product with a new input V of X's shape (one --wrt X).
    #[arg(long, value_name = "V")]
    hvp: Option<String>,
    /// The backward pass as a program: one line per named gradient (in
    /// gradient layout), each reading the ones before it; with --format
    /// numpy|torch|jax, one function `backward_<of>` returning every
    /// requested gradient in a dict, instead of one function per result.
    #[arg(long, conflicts_with_all = ["hessian", "hvp", "steps"])]
    backward: bool,
    /// ASCII output only.
    #[arg(long)]
    ascii: bool,
    /// Check the result against finite differences on random tensors.
    #[arg(long)]
    check: bool,
    /// With --format latex: a complete document.
    #[arg(long)]
    standalone: bool,
    /// Most e-nodes in the e-graph of one matrix form.
    #[arg(long, value_name = "N", default_value_t = EgraphLimits::default().nodes)]
    max_egraph_nodes: usize,
    /// Most saturation iterations for one matrix form.
    #[arg(long, value_name = "N", default_value_t = EgraphLimits::default().iterations)]
    max_egraph_iterations: usize,
    /// Longest saturation run for one matrix form, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = EgraphLimits::default().time.as_millis() as u64)]
    max_egraph_ms: u64,
    /// With --check: the size of an index range (`--size s=3`, or a range symbol `--size S=3`).
    #[arg(long = "size", value_name = "INDEX=N", value_parser = parse_size)]
    sizes: Vec<(String, usize)>,
    /// Print e-graph sizes, stop reasons and phase times to standard error.
    #[arg(long)]
    stats: bool,
    /// With --stats: derive N times in-process and report the median time
    /// (for benchmarks; the first run also compiles the rule tables).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    repeat: u32,
}

fn parse_size(s: &str) -> Result<(String, usize), String> {
    let (name, n) = s.split_once('=').ok_or("expected INDEX=N, e.g. s=3")?;
    let n: usize = n.trim().parse().map_err(|_| format!("`{n}` is not a size"))?;
    if !(1..=64).contains(&n) {
        return Err("a size for --check is between 1 and 64".into());
    }
    Ok((name.trim().to_string(), n))
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Latex,
    Json,
    Numpy,
    Torch,
    Jax,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Gradient,
    Numerator,
}

/// Runs the command line and returns the exit status.
pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Deeply nested input recurses in the parser and the checker; the depth limit
    // bounds it, and a large stack makes sure the bound is what stops it.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: internal failure (this is a bug in ricci; please report the input)");
            ExitCode::from(101)
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { input } => check_program(&input),
        Command::Derive(args) => derive(&args),
    }
}

/// `ricci check`: the program in canonical form.
fn check_program(input: &InputArgs) -> ExitCode {
    let (name, source) = match read_input(input) {
        Ok(x) => x,
        Err(code) => return code,
    };
    match Program::parse(&source, &reading(input)) {
        Ok(program) => {
            note_opaque(&program);
            print!("{program}");
            ExitCode::SUCCESS
        }
        Err(e) => report(&name, &source, &e),
    }
}

/// `ricci derive`: read, derive (`--repeat` times), check, print.
fn derive(args: &DeriveArgs) -> ExitCode {
    if args.standalone && args.format != Format::Latex {
        return usage_error(
            "--standalone needs --format latex",
            "--standalone wraps the LaTeX output in a document that pdflatex compiles: add `--format latex`",
        );
    }
    let (name, source) = match read_input(&args.input) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let request = request(args);
    let program = match Program::parse(&source, &request) {
        Ok(p) => p,
        Err(e) => return report(&name, &source, &e),
    };
    note_opaque(&program);
    // --backward without JSON or --check needs the reverse pass only
    let backward_only = args.backward && args.format != Format::Json && !args.check;
    let (derivation, times) = match timed(&program, &request, args.repeat, backward_only) {
        Ok(x) => x,
        Err(e) => return report(&name, &source, &e),
    };
    let style = if args.ascii { Style::Ascii } else { Style::Unicode };
    // --check runs before anything is printed: the JSON carries its report
    let checks = if args.check {
        check(&derivation, &args.sizes)
    } else {
        Vec::new()
    };
    let out = if args.backward {
        match render_backward(&derivation, args, style, &checks) {
            Ok(out) => out,
            Err(e) => return report(&name, &source, &e),
        }
    } else {
        render(&derivation, args, style, &checks)
    };
    print!("{out}");
    if args.stats {
        print_stats(&derivation, &times);
    }
    if args.check {
        return print_check(&checks);
    }
    ExitCode::SUCCESS
}

/// The request the options make.
fn request(args: &DeriveArgs) -> Request {
    Request {
        of: args.of.clone(),
        wrt: args.wrt.clone(),
        layout: match args.layout {
            Layout::Gradient => ricci::Layout::Gradient,
            Layout::Numerator => ricci::Layout::Numerator,
        },
        limits: limits(&args.input),
        einstein: args.input.einstein,
        hessian: args.hessian,
        hvp: args.hvp.clone(),
        egraph: EgraphLimits {
            nodes: args.max_egraph_nodes,
            iterations: args.max_egraph_iterations,
            time: Duration::from_millis(args.max_egraph_ms),
        },
    }
}

/// Derives `repeat` times and returns the last derivation with the time of
/// each run; with several, the first (which compiles the rule tables) is left out.
/// With `backward_only`, the derivation is [`Program::derive_backward`]'s and
/// each run includes making the backward pass.
fn timed(
    program: &Program,
    request: &Request,
    repeat: u32,
    backward_only: bool,
) -> Result<(Derivation, Vec<Duration>), ricci::Error> {
    let once = || -> Result<Derivation, ricci::Error> {
        if backward_only {
            let d = program.derive_backward(request)?;
            d.backward_lines(Style::Unicode)?;
            Ok(d)
        } else {
            program.derive(request)
        }
    };
    let mut times = Vec::new();
    for _ in 1..repeat {
        let started = Instant::now();
        let _ = once();
        times.push(started.elapsed());
    }
    let started = Instant::now();
    let derivation = once()?;
    times.push(started.elapsed());
    if times.len() > 1 {
        times.remove(0);
    }
    Ok((derivation, times))
}

/// The output in the requested format.
fn render(d: &Derivation, args: &DeriveArgs, style: Style, checks: &[(Report, Judgement)]) -> String {
    match args.format {
        Format::Text => d.text(style, args.steps),
        Format::Latex => d.latex(args.standalone, args.steps),
        Format::Numpy => d.code(Backend::Numpy),
        Format::Torch => d.code(Backend::Torch),
        Format::Jax => d.code(Backend::Jax),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&d.json(style, checks)).expect("JSON values serialise")
        ),
    }
}

/// The output of `--backward` in the requested format; an error for a
/// Jacobian (a `--of` of order ≥ 1).
fn render_backward(
    d: &Derivation,
    args: &DeriveArgs,
    style: Style,
    checks: &[(Report, Judgement)],
) -> Result<String, ricci::Error> {
    Ok(match args.format {
        Format::Text => d.backward_text(style)?,
        Format::Latex => d.backward_latex(args.standalone)?,
        Format::Numpy => d.backward_code(Backend::Numpy)?,
        Format::Torch => d.backward_code(Backend::Torch)?,
        Format::Jax => d.backward_code(Backend::Jax)?,
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&d.backward_json(style, checks)?).expect("JSON values serialise")
        ),
    })
}

/// `--stats`: the median time, the phases of the last run, and each e-graph run.
fn print_stats(d: &Derivation, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let elapsed = sorted[sorted.len() / 2];
    eprintln!(
        "derivation: {:.3} ms (median of {})",
        elapsed.as_secs_f64() * 1e3,
        sorted.len()
    );
    let p = &d.phases;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "phases (last run): lower {:.3} ms, reverse pass {:.3} ms, compose and simplify {:.3} ms, recognise {:.3} ms, saturate {:.3} ms",
        ms(p.lower),
        ms(p.reverse),
        ms(p.compose),
        ms(p.recognise),
        ms(p.saturate)
    );
    for r in &d.results {
        match &r.egraph {
            Some(e) => eprintln!(
                "{}: e-graph {} nodes, {} classes, {} iterations, stopped: {}",
                r.wrt, e.nodes, e.classes, e.iterations, e.stop
            ),
            None if r.has_matrix_form() => {
                eprintln!("{}: matrix form recognised, nothing to factor: no e-graph run", r.wrt)
            }
            None => eprintln!("{}: no matrix form, no e-graph run", r.wrt),
        }
    }
}

/// A request that only reads the program (`ricci check`).
fn reading(input: &InputArgs) -> Request {
    Request {
        einstein: input.einstein,
        limits: limits(input),
        ..Request::default()
    }
}

fn limits(input: &InputArgs) -> Limits {
    let l = &input.limits;
    Limits {
        max_input_bytes: l.max_input_bytes,
        max_depth: l.max_depth,
        max_statements: l.max_statements,
        max_number_digits: l.max_number_digits,
        max_indices: l.max_indices,
    }
}

/// Reads the program text, bounded by the input limit; returns its display name too.
fn read_input(input: &InputArgs) -> Result<(String, String), ExitCode> {
    let limit = input.limits.max_input_bytes;
    let (name, bytes) = if let Some(text) = &input.inline {
        ("<-e>".to_string(), text.clone().into_bytes())
    } else {
        let mut bytes = Vec::new();
        let (name, result) = match &input.file {
            None => (
                "<stdin>".to_string(),
                std::io::stdin().lock().take(limit as u64 + 1).read_to_end(&mut bytes),
            ),
            Some(p) if p.as_os_str() == "-" => (
                "<stdin>".to_string(),
                std::io::stdin().lock().take(limit as u64 + 1).read_to_end(&mut bytes),
            ),
            Some(p) => (
                p.display().to_string(),
                std::fs::File::open(p).and_then(|f| f.take(limit as u64 + 1).read_to_end(&mut bytes)),
            ),
        };
        if let Err(e) = result {
            eprintln!("error: cannot read {name}: {e}");
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        (name, bytes)
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok((name, text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            // Locate the bad byte in the lossy text: the valid prefix is unchanged.
            let d = Diagnostic::new(
                Span::new(at, at + '\u{FFFD}'.len_utf8()),
                "the input is not valid UTF-8",
                "this byte does not start a valid character",
            )
            .with_help("ricci reads programs as UTF-8 text");
            Err(report(&name, &text, &ricci::Error::Program(d.into())))
        }
    }
}

/// `--check`: compares every result with finite differences and judges each
/// at [`CHECK_TOLERANCE`].
fn check(derivation: &Derivation, sizes: &[(String, usize)]) -> Vec<(Report, Judgement)> {
    derivation
        .check(1, sizes)
        .into_iter()
        .map(|r| {
            let judgement = r.judge(CHECK_TOLERANCE);
            (r, judgement)
        })
        .collect()
}

/// Prints the `--check` report to standard error (standard output holds the
/// result, which must stay valid JSON or Python); exit 1 unless every form
/// agrees (a mismatch, or a comparison that cannot decide).
fn print_check(checks: &[(Report, Judgement)]) -> ExitCode {
    let mut ok = true;
    eprintln!();
    for (r, judgement) in checks {
        let matrix = match r.matrix_error {
            Some(e) => format!("{e:.1e}"),
            None => "no matrix form".into(),
        };
        ok &= judgement.verdict == Verdict::Agrees;
        let note = match (&judgement.reason, judgement.verdict) {
            (Some(reason), Verdict::Undecided) => format!(" ({reason})"),
            (None, Verdict::Agrees) if r.skipped > 0 => {
                format!(" ({} entries at a kink of relu or abs not compared)", r.skipped)
            }
            _ => String::new(),
        };
        eprintln!(
            "check {}: relative error {:.1e} (index form), {matrix} (matrix form): {}{note}",
            r.wrt,
            r.index_error,
            judgement.verdict.label()
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A problem with the command line that has no place in the program: a plain
/// `error:` line and its help on standard error; exit status 2.
fn usage_error(message: &str, help: &str) -> ExitCode {
    eprintln!("error: {message}");
    if !help.is_empty() {
        eprintln!("  = help: {help}");
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Says on standard error, once per name, that an unknown one-argument
/// function is taken as opaque (SPEC §1): the result is right for any `h`,
/// but a misspelt built-in would pass unnoticed without it.
fn note_opaque(program: &Program) {
    for h in program.opaque_functions() {
        eprintln!(
            "note: `{h}` is not a built-in function: it is treated as an opaque elementwise function `{h}` with derivative `{h}'`"
        );
    }
}

/// Renders an error to standard error and returns exit status 2.
fn report(name: &str, source: &str, error: &ricci::Error) -> ExitCode {
    let _ = std::io::stderr().write_all(error.render(name, source).as_bytes());
    ExitCode::from(EXIT_BAD_INPUT)
}
