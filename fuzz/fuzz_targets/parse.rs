//! The parser and checker on arbitrary bytes: never a panic, and an accepted
//! program prints back to a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let request = ricci::Request::default();
    match ricci::Program::parse(text, &request) {
        Ok(program) => {
            let printed = program.to_string();
            let again = ricci::Program::parse(&printed, &request).expect("the canonical form parses");
            assert_eq!(again.to_string(), printed, "canonical form is not a fixed point");
        }
        Err(errors) => {
            // rendering a diagnostic must not panic either
            let _ = errors.render("fuzz", text);
        }
    }
});
