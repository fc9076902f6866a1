//! Applies layer tars (gzip, zstd or plain) to a directory, printing each diff_id:
//! `cargo run --example apply_layer -- DIR LAYER...`
use libimage::layer::{apply_layer, ApplyOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, layers) = args
        .split_first()
        .ok_or("usage: apply_layer DIR LAYER...")?;
    for l in layers {
        let applied = apply_layer(
            std::fs::File::open(l)?,
            dir.as_ref(),
            &ApplyOptions::default(),
        )?;
        println!(
            "{l}: {} ({} bytes, {} entries)",
            applied.diff_id, applied.size, applied.entries
        );
    }
    Ok(())
}
