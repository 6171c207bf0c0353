#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow::fuzz::http_event(data));
