#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow::fuzz::s3_event(data));
