//! The device allowlist on cgroup v2: an eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE`
//! attached to the container's cgroup (v2 has no `devices.allow` files), as runc's
//! devicefilter does.
//!
//! The rules are first reduced the way the v1 kernel applies `devices.allow`/`devices.deny`
//! writes in order (a wildcard rule sets the default and clears the exceptions; a rule of
//! the other kind adds an exception; a rule of the default's kind removes access from an
//! exception), so a container gets the same devices on v1 and v2. The program then checks
//! the exceptions and returns the default when none matches.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::error::{Error, Result};

/// `BPF_DEVCG_ACC_*`: what is asked of a device.
const ACC_MKNOD: u32 = 1;
const ACC_READ: u32 = 2;
const ACC_WRITE: u32 = 4;
/// `BPF_DEVCG_DEV_*`.
const DEV_BLOCK: u32 = 1;
const DEV_CHAR: u32 = 2;

/// One exception: a device class (type, major, minor; `None` is any) and access bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    /// `DEV_BLOCK`, `DEV_CHAR`, or `None` for both (`a`).
    pub typ: Option<u32>,
    /// The major number, `None` for any.
    pub major: Option<u32>,
    /// The minor number, `None` for any.
    pub minor: Option<u32>,
    /// `ACC_MKNOD | ACC_READ | ACC_WRITE` bits.
    pub access: u32,
}

/// The rules reduced as v1 applies them: a default and its exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduced {
    /// Whether a device no exception matches is allowed.
    pub default_allow: bool,
    /// The exceptions, in order.
    pub exceptions: Vec<Exception>,
}

fn access_bits(s: Option<&str>) -> u32 {
    let s = s.unwrap_or("rwm");
    let mut a = 0;
    for c in s.chars() {
        a |= match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        };
    }
    a
}

fn number(n: Option<i64>) -> Option<u32> {
    n.filter(|n| *n >= 0).map(|n| n as u32)
}

/// Reduces OCI device rules in order, as the v1 kernel would apply them (defaults: deny
/// every device when no rule says otherwise, as runc does).
pub fn reduce(rules: &[LinuxDeviceCgroup]) -> Result<Reduced> {
    let mut r = Reduced {
        default_allow: false,
        exceptions: Vec::new(),
    };
    for rule in rules {
        use oci_spec::runtime::LinuxDeviceType as T;
        let typ = match rule.typ() {
            None | Some(T::A) => None,
            Some(T::B) => Some(DEV_BLOCK),
            Some(T::C) | Some(T::U) => Some(DEV_CHAR),
            Some(other) => {
                return Err(Error::InvalidArgument(format!(
                    "device rule type {other:?} cannot be filtered on cgroup v2"
                )))
            }
        };
        let e = Exception {
            typ,
            major: number(rule.major()),
            minor: number(rule.minor()),
            access: access_bits(rule.access().as_deref()),
        };
        let everything = e.typ.is_none()
            && e.major.is_none()
            && e.minor.is_none()
            && e.access == ACC_MKNOD | ACC_READ | ACC_WRITE;
        if everything {
            r.default_allow = rule.allow();
            r.exceptions.clear();
        } else if rule.allow() != r.default_allow {
            r.exceptions.push(e);
        } else {
            // The kind of the default: takes the access away from the same class.
            for x in r.exceptions.iter_mut() {
                if x.typ == e.typ && x.major == e.major && x.minor == e.minor {
                    x.access &= !e.access;
                }
            }
            r.exceptions.retain(|x| x.access != 0);
        }
    }
    Ok(r)
}

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    /// The opcode.
    pub code: u8,
    /// dst_reg (low nibble) and src_reg (high nibble).
    pub regs: u8,
    /// The jump offset or memory offset.
    pub off: i16,
    /// The immediate.
    pub imm: i32,
}

const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

/// The program: r2 = type, r3 = access, r4 = major, r5 = minor (from
/// `struct bpf_cgroup_dev_ctx`); per exception, a block that returns the opposite of the
/// default when the device matches; the default at the end.
pub fn compile(r: &Reduced) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH32_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for e in &r.exceptions {
        let mut block: Vec<Insn> = Vec::new();
        // Jumps out of the block get their offsets once its length is known.
        let mut jumps = Vec::new();
        for (reg, value) in [(2u8, e.typ), (4, e.major), (5, e.minor)] {
            if let Some(v) = value {
                jumps.push(block.len());
                block.push(insn(JNE_K, reg, 0, 0, v as i32));
            }
        }
        // Allow-by-default denies on any overlap; deny-by-default allows only when the
        // exception covers every bit asked for (v1's two matching rules).
        block.push(insn(MOV32_X, 1, 3, 0, 0));
        if r.default_allow {
            block.push(insn(AND32_K, 1, 0, 0, e.access as i32));
            jumps.push(block.len());
            block.push(insn(JEQ_K, 1, 0, 0, 0));
        } else {
            block.push(insn(AND32_K, 1, 0, 0, (!e.access & 7) as i32));
            jumps.push(block.len());
            block.push(insn(JNE_K, 1, 0, 0, 0));
        }
        block.push(insn(MOV64_K, 0, 0, 0, i32::from(!r.default_allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for j in jumps {
            block[j].off = (len - j - 1) as i16;
        }
        p.extend(block);
    }
    p.push(insn(MOV64_K, 0, 0, 0, i32::from(r.default_allow)));
    p.push(insn(EXIT, 0, 0, 0, 0));
    p
}

/// Runs `prog` on a device access as the kernel would (for tests of the compiler): the
/// program's return value, 1 allowed, 0 denied.
pub fn evaluate(prog: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [access << 16 | typ, major, minor];
    let mut reg = [0u64; 11];
    let mut pc = 0usize;
    while pc < prog.len() {
        let i = prog[pc];
        let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
        pc += 1;
        match i.code {
            LDX_W => reg[dst] = u64::from(ctx[(i.off / 4) as usize]),
            AND32_K => reg[dst] = (reg[dst] as u32 & i.imm as u32) as u64,
            RSH32_K => reg[dst] = ((reg[dst] as u32) >> i.imm) as u64,
            MOV32_X => reg[dst] = reg[src] as u32 as u64,
            MOV64_K => reg[dst] = i.imm as i64 as u64,
            JNE_K if reg[dst] != i.imm as i64 as u64 => pc += i.off as usize,
            JEQ_K if reg[dst] == i.imm as i64 as u64 => pc += i.off as usize,
            JNE_K | JEQ_K => {}
            EXIT => return reg[0],
            _ => return 0,
        }
    }
    0
}

fn bpf(cmd: libc::c_long, attr: &mut [u64; 16]) -> std::io::Result<libc::c_long> {
    // SAFETY: bpf(2) with a zero-padded attribute union we own.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(attr),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u64 = 15;
const BPF_CGROUP_DEVICE: u64 = 6;
const BPF_F_ALLOW_MULTI: u64 = 2;

/// Loads the program for `rules` and attaches it to the cgroup v2 directory `dir` (with
/// `BPF_F_ALLOW_MULTI`, so the programs of parent cgroups still apply too).
pub fn attach(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let prog = compile(&reduce(rules)?);
    let license = b"Apache\0";
    let load = |log: Option<&mut Vec<u8>>| {
        let mut attr = [0u64; 16];
        // union bpf_attr, BPF_PROG_LOAD: prog_type u32, insn_cnt u32, insns u64,
        // license u64, log_level u32, log_size u32, log_buf u64.
        attr[0] = BPF_PROG_TYPE_CGROUP_DEVICE | ((prog.len() as u64) << 32);
        attr[1] = prog.as_ptr() as u64;
        attr[2] = license.as_ptr() as u64;
        if let Some(log) = log {
            attr[3] = 1 | ((log.len() as u64) << 32);
            attr[4] = log.as_mut_ptr() as u64;
        }
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    // The verifier's log only when it refuses (the log of a success can be long).
    let fd = load(None).map_err(|e| {
        let mut log = vec![0u8; 1 << 16];
        let _ = load(Some(&mut log));
        let msg = String::from_utf8_lossy(&log);
        let msg = msg.trim_end_matches('\0').trim();
        Error::io(
            "load the eBPF device filter",
            msg.lines().last().unwrap_or_default(),
            e,
        )
    })?;
    // SAFETY: bpf returned a new fd we own.
    let prog_fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    let cg = std::fs::File::open(dir).map_err(|e| Error::io("open", dir, e))?;
    // BPF_PROG_ATTACH: target_fd u32, attach_bpf_fd u32, attach_type u32, attach_flags u32.
    let mut attr = [0u64; 16];
    attr[0] = cg.as_raw_fd() as u64 | ((prog_fd.as_raw_fd() as u64) << 32);
    attr[1] = BPF_CGROUP_DEVICE | (BPF_F_ALLOW_MULTI << 32);
    bpf(BPF_PROG_ATTACH, &mut attr)
        .map_err(|e| Error::io("attach the device filter to", dir, e))?;
    // The attachment holds the program; our fd goes.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: serde_json::Value) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn dockers_default_rules_allow_exactly_its_devices() {
        let r = reduce(&rules(crate::spec::default_devices())).unwrap();
        assert!(!r.default_allow);
        let p = compile(&r);
        let rw = ACC_READ | ACC_WRITE;
        for (major, minor) in [
            (1, 3),
            (1, 5),
            (1, 7),
            (1, 8),
            (1, 9),
            (5, 0),
            (5, 1),
            (5, 2),
            (136, 4),
        ] {
            assert_eq!(
                evaluate(&p, DEV_CHAR, rw, major, minor),
                1,
                "c {major}:{minor}"
            );
        }
        // The host's disk, kmsg, mem: no read or write; mknod alone is allowed.
        assert_eq!(evaluate(&p, DEV_BLOCK, ACC_READ, 8, 0), 0);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_READ, 1, 11), 0);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_WRITE, 1, 1), 0);
        assert_eq!(evaluate(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_MKNOD, 10, 200), 1);
        assert_eq!(evaluate(&p, DEV_BLOCK, ACC_MKNOD | ACC_READ, 8, 0), 0);
    }

    #[test]
    fn later_rules_change_earlier_ones_as_v1_does() {
        // Allow everything, then deny one device's writes.
        let r = reduce(&rules(serde_json::json!([
            {"allow": true, "access": "rwm"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
        ])))
        .unwrap();
        assert!(r.default_allow);
        let p = compile(&r);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_WRITE, 1, 3), 0);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 0);
        assert_eq!(evaluate(&p, DEV_BLOCK, ACC_WRITE, 8, 0), 1);
        // Deny everything, allow null rw, then take its write away again.
        let r = reduce(&rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "w"}
        ])))
        .unwrap();
        let p = compile(&r);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(evaluate(&p, DEV_CHAR, ACC_WRITE, 1, 3), 0);
        // A later deny-all wipes the exceptions.
        let r = reduce(&rules(serde_json::json!([
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"},
            {"allow": false, "access": "rwm"}
        ])))
        .unwrap();
        assert_eq!(r.exceptions, vec![]);
        assert_eq!(evaluate(&compile(&r), DEV_CHAR, ACC_READ, 1, 3), 0);
        assert!(reduce(&rules(serde_json::json!([{"allow": true, "type": "p"}]))).is_err());
    }
}
