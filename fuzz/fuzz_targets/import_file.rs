#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| orderflow::fuzz::import_file(data));
