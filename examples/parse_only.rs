use orderflow::order::InputRef;
use std::time::Instant;
fn main() {
    let text = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().take(300_000).collect();
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = Instant::now();
        let mut n = 0usize;
        for l in &lines {
            if let Some(v) = InputRef::from_json(l) {
                n += v.order_id_text().map(|s| s.len()).unwrap_or(0);
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(n);
    }
    println!("best {:.1} ns/line", best * 1e9 / lines.len() as f64);
}
