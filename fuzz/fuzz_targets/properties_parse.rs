//! Arbitrary text as a `.properties` file: every line read, escapes and continuations
//! included, or refused; a file that parses may still be refused by the settings, never a
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = krafka::properties::syntax::parse(text);
        if let Ok(props) = krafka::Properties::parse(text) {
            let _ = props.connection();
        }
    }
});
