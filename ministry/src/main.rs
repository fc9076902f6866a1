//! The `ministry` binary: Docker's CLI over the ministry engine.

mod cli;
mod daemon;

use clap::Parser;
use cli::args::{Cli, Command, ImageCommand, SystemCommand, VolumeCommand};
use ministry::{DaemonConfig, Engine, EngineConfig};

/// The daemon options: the flags, else the configuration file; an option in both is
/// refused, as Docker refuses it.
fn engine_config(cli: &Cli) -> anyhow::Result<EngineConfig> {
    let mut config = EngineConfig::default();
    daemon_config(cli)?.apply(&mut config)?;
    Ok(config)
}

/// The daemon options of the flags and the configuration file, merged.
fn daemon_config(cli: &Cli) -> anyhow::Result<DaemonConfig> {
    let some_vec = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let d = match &cli.command {
        Command::Daemon(d) => Some(d),
        _ => None,
    };
    let flags = DaemonConfig {
        data_root: cli.root.clone(),
        exec_root: cli.exec_root.clone(),
        cgroup_parent: cli.cgroup_parent.clone(),
        storage_driver: cli.storage_driver.clone(),
        insecure_registries: some_vec(&cli.insecure_registry),
        registry_mirrors: some_vec(&cli.registry_mirror),
        debug: cli.debug.then_some(true),
        dns: some_vec(&cli.dns),
        dns_search: some_vec(&cli.dns_search),
        dns_opts: some_vec(&cli.dns_opt),
        bridge: cli.bridge.clone(),
        bip: cli.bip.clone(),
        fixed_cidr: cli.fixed_cidr.clone(),
        mtu: cli.mtu,
        icc: cli.icc,
        ip: cli.ip,
        ip_forward: cli.ip_forward,
        ip_masq: cli.ip_masq,
        iptables: cli.iptables,
        graph: None,
        init_path: None,
        // `-H` names the daemon's sockets only when it is the daemon.
        hosts: d.and_then(|d| some_vec(&[cli.host.clone(), d.host.clone()].concat())),
        group: d.and_then(|d| d.group.clone()),
        pidfile: d.and_then(|d| d.pidfile.clone()),
        tls: d.and_then(|d| d.tls),
        tlsverify: d.and_then(|d| d.tlsverify),
        tlscacert: d.and_then(|d| d.tlscacert.clone()),
        tlscert: d.and_then(|d| d.tlscert.clone()),
        tlskey: d.and_then(|d| d.tlskey.clone()),
    };
    let file = DaemonConfig::load(&cli.config_file)?;
    let both = flags.conflicts(&file);
    if !both.is_empty() {
        anyhow::bail!(
            "unable to configure the Docker daemon with file {}: the following directives are specified both as a flag and in the configuration file: {}",
            cli.config_file.display(),
            both.join(", ")
        );
    }
    Ok(flags.or(file))
}

fn run(mut cli: Cli) -> anyhow::Result<bool> {
    // `container ...` is the same command under Docker's management command.
    cli.command = match cli.command {
        Command::Container(c) => c.into_command(),
        other => other,
    };
    if let Command::Daemon(_) = &cli.command {
        let dc = daemon_config(&cli)?;
        let mut config = EngineConfig::default();
        dc.apply(&mut config)?;
        let engine = Engine::open(config)?;
        daemon::serve(engine, &dc, cli.debug)?;
        return Ok(true);
    }
    if !cli.host.is_empty() {
        anyhow::bail!(
            "-H names the daemon's sockets for `ministry daemon`; the CLI itself talks to the engine directly (as a client of a daemon, use the docker CLI with DOCKER_HOST)"
        );
    }
    let config = engine_config(&cli)?;
    let engine = Engine::open(config)?;
    use cli::images as h;
    let ok = match &cli.command {
        // Served above.
        Command::Daemon(_) => true,
        Command::Run(a) => match cli::containers::run(&engine, a) {
            Ok(cli::containers::Outcome::Code(c)) => std::process::exit(c),
            Err(e) if e.downcast_ref::<cli::ClientError>().is_some() => {
                let c = e.downcast_ref::<cli::ClientError>().expect("checked");
                eprintln!("ministry: {c}\n\nRun 'ministry run --help' for more information");
                std::process::exit(c.code);
            }
            Err(e) => {
                let msg = cli::daemon_text(&e);
                eprintln!(
                    "ministry: Error response from daemon: {}.\nSee 'ministry run --help'.",
                    msg.trim_end_matches('.')
                );
                std::process::exit(cli::run_exit_code(&e));
            }
        },
        Command::Create(a) => match cli::containers::create(&engine, a) {
            Ok(()) => true,
            Err(e) if e.downcast_ref::<cli::ClientError>().is_some() => {
                let c = e.downcast_ref::<cli::ClientError>().expect("checked");
                eprintln!("{c}\n\nRun 'ministry create --help' for more information");
                std::process::exit(c.code);
            }
            // Docker's `create` reports the daemon's refusal and exits 1.
            Err(e) => {
                eprintln!("Error response from daemon: {}", cli::daemon_text(&e));
                std::process::exit(1);
            }
        },
        Command::Start(a) => match cli::containers::start(&engine, a)? {
            cli::containers::Outcome::Code(c) => std::process::exit(c),
        },
        Command::Stop(a) => cli::containers::stop(&engine, a)?,
        Command::Kill(a) => cli::containers::kill(&engine, a)?,
        Command::Wait(a) => cli::containers::wait(&engine, a)?,
        Command::Top(a) => cli::containers::top(&engine, a).map(|_| true)?,
        Command::Stats(a) => cli::containers::stats(&engine, a).map(|_| true)?,
        Command::Diff(a) => cli::containers::diff(&engine, a).map(|_| true)?,
        Command::Export(a) => cli::containers::export(&engine, a).map(|_| true)?,
        Command::Rename(a) => cli::containers::rename(&engine, a).map(|_| true)?,
        Command::Port(a) => cli::containers::port(&engine, a).map(|_| true)?,
        Command::Version(a) => cli::containers::version(&engine, a).map(|_| true)?,
        Command::Pause(a) => cli::containers::pause(&engine, a, true)?,
        Command::Unpause(a) => cli::containers::pause(&engine, a, false)?,
        Command::Logs(a) => cli::containers::logs(&engine, a).map(|_| true)?,
        Command::Exec(a) => match cli::containers::exec(&engine, a) {
            Ok(cli::containers::Outcome::Code(c)) => std::process::exit(c),
            Err(e) if e.downcast_ref::<cli::ClientError>().is_some() => {
                let c = e.downcast_ref::<cli::ClientError>().expect("checked");
                eprintln!("{c}");
                std::process::exit(c.code);
            }
            Err(e) => {
                eprintln!("Error response from daemon: {}", cli::daemon_text(&e));
                std::process::exit(1);
            }
        },
        Command::Ps(a) => cli::containers::ps(&engine, a).map(|_| true)?,
        Command::Rm(a) => cli::containers::rm(&engine, a)?,
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => {
            h::images(&engine, a).map(|_| true)?
        }
        Command::Build(a) | Command::Image(ImageCommand::Build(a)) => {
            match cli::build::build(&engine, a)? {
                0 => true,
                code => std::process::exit(code),
            }
        }
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
            h::import(&engine, a).map(|_| true)?
        }
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => {
            h::tag(&engine, a).map(|_| true)?
        }
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => h::rmi(&engine, a)?,
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            h::history(&engine, a).map(|_| true)?
        }
        Command::Inspect(a) => h::inspect(&engine, a)?,
        // `image inspect` looks for images only (Docker's daemon text when missing).
        Command::Image(ImageCommand::Inspect(a)) => h::inspect(
            &engine,
            &cli::args::InspectArgs {
                typ: Some("image".into()),
                ..a.clone()
            },
        )?,
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => {
            h::save(&engine, a).map(|_| true)?
        }
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => {
            h::load(&engine, a).map(|_| true)?
        }
        Command::Image(ImageCommand::Prune(a)) => h::prune(&engine, a).map(|_| true)?,
        Command::System(SystemCommand::Check) => h::system_check(&engine)?,
        Command::ContainerPrune(a) => cli::system::container_prune(&engine, a).map(|_| true)?,
        Command::Container(_) => unreachable!("replaced by its command above"),
        Command::System(SystemCommand::Df(a)) => cli::system::df(&engine, a).map(|_| true)?,
        Command::System(SystemCommand::Info(a)) | Command::Info(a) => {
            cli::system::info(&engine, a).map(|_| true)?
        }
        Command::System(SystemCommand::Prune(a)) => cli::system::prune(&engine, a).map(|_| true)?,
        Command::Pull(a) => cli::registry::pull(&engine, a).map(|_| true)?,
        Command::Push(a) => cli::registry::push(&engine, a).map(|_| true)?,
        Command::Login(a) => cli::registry::login(&engine, a).map(|_| true)?,
        Command::Logout(a) => cli::registry::logout(&engine, a).map(|_| true)?,
        Command::Search(a) => cli::registry::search(&engine, a).map(|_| true)?,
        Command::Network(n) => cli::networks::run(&engine, n)?,
        Command::Commit(a) => {
            let img = engine.commit_container(
                &a.container,
                a.reference.as_deref(),
                a.author.as_deref().unwrap_or(""),
                a.message.as_deref().unwrap_or(""),
                &a.change,
                a.pause,
            )?;
            println!("{}", img.id);
            true
        }
        Command::Restart(a) => cli::containers::restart(&engine, a)?,
        Command::Attach(a) => match cli::containers::attach(&engine, a)? {
            cli::containers::Outcome::Code(c) => std::process::exit(c),
        },
        Command::Cp(a) => cli::containers::cp(&engine, a).map(|_| true)?,
        Command::Update(a) => cli::containers::update(&engine, a)?,
        Command::Events(a) => cli::events::run(&engine, a).map(|_| true)?,
        Command::Volume(v) => match v {
            VolumeCommand::Create(a) => cli::volumes::create(&engine, a).map(|_| true)?,
            VolumeCommand::Ls(a) => cli::volumes::ls(&engine, a).map(|_| true)?,
            VolumeCommand::Inspect(a) => cli::volumes::inspect(&engine, a)?,
            VolumeCommand::Rm(a) => cli::volumes::rm(&engine, a)?,
            VolumeCommand::Prune(a) => cli::volumes::prune(&engine, a).map(|_| true)?,
        },
    };
    Ok(ok)
}

/// Whether standard output is a pipe or socket whose reader went away (poll reports
/// `POLLERR`/`POLLHUP` on the writing end): printing then panics in `println!`.
fn stdout_reader_gone() -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let stdout = std::io::stdout();
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(&stdout),
        PollFlags::POLLOUT,
    )];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP))
}

fn main() {
    // This binary is also libruntime's monitor helper: when started as one, this runs the
    // monitor and never returns. It must come before anything starts a thread.
    libruntime::maybe_run();
    // A reader that went away (`ministry inspect x | head`): end quietly, as a program
    // killed by SIGPIPE does (141), not with a panic's backtrace. (SIGPIPE itself stays
    // ignored: a write to a closed socket must stay an error, not kill attach.)
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if stdout_reader_gone() {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    let cli = Cli::parse();
    let debug =
        cli.debug || DaemonConfig::load(&cli.config_file).is_ok_and(|c| c.debug == Some(true));
    match run(cli) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            // Engine errors read like Docker's daemon errors; argument errors like its CLI's.
            if let Some(c) = e.downcast_ref::<cli::ClientError>() {
                eprintln!("{c}");
                std::process::exit(c.code);
            }
            if cli::is_daemon_error(&e) {
                eprintln!("Error response from daemon: {}", cli::daemon_text(&e));
                if debug {
                    eprintln!("DEBU[0000] {e:?}");
                }
            } else if debug {
                eprintln!("Error: {e:?}");
            } else {
                eprintln!("Error: {e:#}");
            }
            std::process::exit(1);
        }
    }
}
