//! Creates a named volume in a temporary store, parses Docker's `-v` and `--mount` values,
//! and prints the mounts libruntime would perform. Runs as any user:
//! `cargo run -p libvolume --example volumes`.

use libvolume::{parse_mount_flag, parse_volume_flag, CreateOptions, MountPoint, VolumeStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("libvolume-example-{}", std::process::id()));
    let store = VolumeStore::open(&dir)?;
    let (v, _) = store.create(&CreateOptions {
        name: Some("dbdata".into()),
        ..Default::default()
    })?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    for spec in [
        parse_volume_flag("dbdata:/var/lib/db:ro")?,
        parse_mount_flag("type=tmpfs,target=/scratch,tmpfs-size=64m")?,
    ] {
        let mp = MountPoint {
            kind: spec.kind,
            name: spec.source.clone(),
            source: if spec.source.is_empty() {
                String::new()
            } else {
                store.mount(&spec.source)?.display().to_string()
            },
            destination: spec.target.clone(),
            driver: "local".into(),
            mode: spec.mode.clone(),
            rw: !spec.readonly,
            propagation: spec.propagation.clone(),
            tmpfs_options: spec.tmpfs_options.clone(),
        };
        println!("{} -> {:?}", mp.docker_json(), mp.to_oci());
    }
    store.remove("dbdata")?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
