//! The parser and checker on arbitrary bytes: never a panic, and an accepted
//! program prints back to a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let options = ricci::Options::default();
    match ricci::load(text, &options) {
        Ok(program) => {
            let printed = program.syntax.to_string();
            let again = ricci::load(&printed, &options).expect("the canonical form parses");
            assert_eq!(again.syntax.to_string(), printed, "canonical form is not a fixed point");
        }
        Err(errors) => {
            // rendering a diagnostic must not panic either
            let _ = errors.render("fuzz", text);
        }
    }
});
