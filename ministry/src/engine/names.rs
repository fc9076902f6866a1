//! Random container names in Docker's `adjective_surname` form.

const LEFT: [&str; 32] = [
    "admiring",
    "bold",
    "brave",
    "clever",
    "cool",
    "dazzling",
    "eager",
    "ecstatic",
    "elegant",
    "focused",
    "friendly",
    "gallant",
    "gifted",
    "happy",
    "hopeful",
    "jolly",
    "keen",
    "kind",
    "loving",
    "modest",
    "nifty",
    "optimistic",
    "peaceful",
    "quirky",
    "relaxed",
    "serene",
    "sharp",
    "stoic",
    "tender",
    "upbeat",
    "vibrant",
    "zealous",
];

const RIGHT: [&str; 32] = [
    "albattani",
    "babbage",
    "bardeen",
    "bohr",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "fermat",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "hopper",
    "hypatia",
    "kepler",
    "knuth",
    "lamport",
    "liskov",
    "lovelace",
    "mccarthy",
    "meitner",
    "newton",
    "noether",
    "pascal",
    "ritchie",
    "shannon",
    "thompson",
    "turing",
    "wozniak",
    "yonath",
];

/// A name from 16 random bits, `adjective_surname`, with a digit appended on retries.
pub fn generate(random: u16, retry: u32) -> String {
    let l = LEFT[(random as usize) % LEFT.len()];
    let r = RIGHT[(random as usize >> 5) % RIGHT.len()];
    if retry == 0 {
        format!("{l}_{r}")
    } else {
        format!("{l}_{r}{retry}")
    }
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}
