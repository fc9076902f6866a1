//! The monitor helper for programs that do not serve as their own helper (and for this
//! crate's tests): it only runs `libruntime::maybe_run`.
fn main() {
    libruntime::maybe_run();
    eprintln!("libruntime-helper: this program is started by libruntime, not by hand");
    std::process::exit(2);
}
