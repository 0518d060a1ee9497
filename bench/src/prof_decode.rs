fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for _ in 0..7 {
        let t = std::time::Instant::now();
        let (c, _) = gpuops_fit::cluster::from_json_list(&bytes, "x").unwrap();
        let t1 = t.elapsed();
        let u = gpuops_fit::schedule::usage(&c);
        eprintln!("decode {:?} usage {:?} nodes {} pods {} {}", t1, t.elapsed() - t1, c.nodes.len(), c.pods.len(), u.len());
    }
}
