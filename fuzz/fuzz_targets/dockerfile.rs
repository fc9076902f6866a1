//! The Dockerfile parser and variable substitution. Invariants:
//!
//! - `parse`, `Instruction::expand` and the shell lexer never panic (nor recurse without
//!   bound: `ONBUILD ONBUILD ...` chains and nested `${a:-${b:-...}}` are bounded);
//! - an accepted file's instructions start on increasing lines, its escape is `\` or
//!   `` ` ``;
//! - an instruction without heredocs, written alone after the same escape directive and a
//!   `FROM`, parses to the same instruction (its `original` is a faithful one-line form,
//!   unless it ends with the escape character);
//! - substitution keeps an instruction's line and original, and `process_words` never
//!   yields an empty word.
#![no_main]
use libfuzzer_sys::fuzz_target;
use libimage::dockerfile::{parse, Instruction, InstructionKind, ShellLex};

fn env(name: &str) -> Option<String> {
    match name {
        "A" => Some("a b".into()),
        "EMPTY" => Some(String::new()),
        "P" => Some("80 443/udp".into()),
        "Q" => Some("\"q'\\".into()),
        _ => None,
    }
}

fn has_heredocs(i: &Instruction) -> bool {
    match &i.kind {
        InstructionKind::Run { heredocs, .. } => !heredocs.is_empty(),
        InstructionKind::Copy(s) | InstructionKind::Add(s) => !s.heredocs.is_empty(),
        InstructionKind::Onbuild(t) => has_heredocs(t),
        _ => false,
    }
}

/// The kind, with an `ONBUILD` trigger's line (its parent's) and the blanks ending its
/// expression (which `original` trims) left out.
fn normalized(i: &Instruction) -> InstructionKind {
    match &i.kind {
        InstructionKind::Onbuild(t) => InstructionKind::Onbuild(Box::new(Instruction {
            line: 0,
            original: t.original.trim_end().to_string(),
            kind: t.kind.clone(),
        })),
        k => k.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for escape in ['\\', '`'] {
        let lex = ShellLex::new(escape);
        let head: String = text.chars().take(2000).collect();
        let _ = lex.process_word(&head, &env);
        if let Ok(words) = lex.process_words(&head, &env) {
            assert!(words.iter().all(|w| !w.is_empty()), "{head:?}: {words:?}");
        }
    }
    let Ok(file) = parse(text) else {
        return;
    };
    assert!(file.escape == '\\' || file.escape == '`');
    assert!(file.instructions.windows(2).all(|w| w[0].line < w[1].line));
    let lex = ShellLex::new(file.escape);
    for i in &file.instructions {
        assert!(i.line >= 1);
        if let Ok(e) = i.expand(&lex, &env) {
            assert_eq!((e.line, &e.original), (i.line, &i.original));
        }
        // (an original ending with the escape character once had blanks after it that
        // `original` trims, `\v` say: alone, it would continue on the next line)
        if has_heredocs(i) || i.original.len() > 65535 || i.original.ends_with(file.escape) {
            continue;
        }
        let alone = format!("# escape={}\nFROM scratch\n{}\n", file.escape, i.original);
        let again = parse(&alone).unwrap_or_else(|e| panic!("{:?} alone: {e}", i.original));
        let [_, one] = again.instructions.as_slice() else {
            panic!("{:?} alone: {:?}", i.original, again.instructions);
        };
        assert_eq!(normalized(one), normalized(i), "{:?}", i.original);
    }
});
