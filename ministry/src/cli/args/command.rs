//! The top-level parser: global flags (`Cli`) and the `Command` enum of every command.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::{
    AttachArgs, BuildArgs, CommitArgs, ContainerArg, ContainerCommand, CpArgs, EventsArgs,
    ExecArgs, ExportArgs, HistoryArgs, ImageCommand, ImagesArgs, ImportArgs, InfoArgs, InspectArgs,
    KillArgs, LoadArgs, LoginArgs, LogoutArgs, LogsArgs, NetworkCommand, PortArgs, PruneArgs,
    PsArgs, PullArgs, PushArgs, RenameArgs, RmArgs, RmiArgs, RunArgs, SaveArgs, SearchArgs,
    StartArgs, StatsArgs, StopArgs, SystemCommand, TagArgs, TopArgs, UpdateArgs, VersionArgs,
    VolumeCommand, WaitArgs,
};

/// A container engine with Docker's CLI.
#[derive(Debug, Parser)]
#[command(
    name = "ministry",
    version,
    about = "A self-sufficient runtime for containers"
)]
pub struct Cli {
    /// Root of persistent state (default "/var/lib/ministry").
    #[arg(long = "root", visible_alias = "data-root", short = 'g', global = true)]
    pub root: Option<PathBuf>,
    /// Root directory for execution state files (default "/run/ministry").
    #[arg(long = "exec-root", global = true)]
    pub exec_root: Option<PathBuf>,
    /// Parent cgroup for all containers (default "ministry").
    #[arg(long = "cgroup-parent", global = true)]
    pub cgroup_parent: Option<String>,
    /// Enable insecure registry communication (plain HTTP)
    #[arg(long = "insecure-registry", global = true)]
    pub insecure_registry: Vec<String>,
    /// Preferred Docker registry mirror
    #[arg(long = "registry-mirror", global = true)]
    pub registry_mirror: Vec<String>,
    /// Storage driver to use (overlay2 or vfs; default: overlay2 where it works).
    #[arg(long = "storage-driver", global = true)]
    pub storage_driver: Option<String>,
    /// Daemon configuration file, in Docker's daemon.json format
    #[arg(
        long = "config-file",
        global = true,
        default_value = "/etc/ministry/daemon.json"
    )]
    pub config_file: PathBuf,
    /// Enable debug mode (error causes in full)
    #[arg(short = 'D', long)]
    pub debug: bool,
    /// DNS server for containers (the daemon's default)
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// DNS search domains for containers (the daemon's default)
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// DNS options for containers (the daemon's default)
    #[arg(long = "dns-opt")]
    pub dns_opt: Vec<String>,
    /// Attach containers to an existing network bridge
    #[arg(short = 'b', long = "bridge")]
    pub bridge: Option<String>,
    /// Specify network bridge IP
    #[arg(long)]
    pub bip: Option<String>,
    /// IPv4 subnet for fixed IPs
    #[arg(long = "fixed-cidr")]
    pub fixed_cidr: Option<String>,
    /// Set the containers network MTU
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Enable inter-container communication (--icc=false to isolate)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub icc: Option<bool>,
    /// Default IP when binding container ports
    #[arg(long)]
    pub ip: Option<std::net::Ipv4Addr>,
    /// Enable net.ipv4.ip_forward
    #[arg(long = "ip-forward", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ip_forward: Option<bool>,
    /// Enable IP masquerading
    #[arg(long = "ip-masq", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ip_masq: Option<bool>,
    /// Enable addition of nftables rules
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub iptables: Option<bool>,
    /// Daemon socket(s) to connect to, or for `daemon` to listen on (`unix://PATH`,
    /// `tcp://HOST:PORT`, `fd://`); before the command, as Docker's (`history -H` is
    /// another flag)
    #[arg(short = 'H', long = "host")]
    pub host: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// `ministry daemon`: Docker's Engine API on sockets (dockerd's flags).
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// Daemon socket(s) to listen on (repeatable)
    #[arg(short = 'H', long = "host")]
    pub host: Vec<String>,
    /// Group for the unix socket (default "docker" when that group exists)
    #[arg(short = 'G', long = "group")]
    pub group: Option<String>,
    /// Path to use for daemon PID file
    #[arg(short = 'p', long = "pidfile")]
    pub pidfile: Option<PathBuf>,
    /// Use TLS; implied by --tlsverify
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls: Option<bool>,
    /// Use TLS and verify the remote
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tlsverify: Option<bool>,
    /// Trust certs signed only by this CA
    #[arg(long)]
    pub tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file
    #[arg(long)]
    pub tlscert: Option<PathBuf>,
    /// Path to TLS key file
    #[arg(long)]
    pub tlskey: Option<PathBuf>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: Docker's Engine API on unix and TCP sockets
    #[command(alias = "-d")]
    Daemon(DaemonArgs),
    /// Create and run a new container from an image
    Run(RunArgs),
    /// Create a new container
    Create(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(WaitArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(ContainerArg),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Show the ministry version information
    Version(VersionArgs),
    /// Pause all processes within one or more containers
    Pause(WaitArgs),
    /// Unpause all processes within one or more containers
    Unpause(WaitArgs),
    /// List containers
    Ps(PsArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List images
    #[command(alias = "image-ls")]
    Images(ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Build an image from a Dockerfile
    Build(Box<BuildArgs>),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Return low-level information on Docker objects
    Inspect(InspectArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Get real time events from the server
    Events(EventsArgs),
    /// Display system-wide information
    Info(InfoArgs),
    /// Update configuration of one or more containers
    Update(UpdateArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Log in to a registry
    Login(LoginArgs),
    /// Log out from a registry
    Logout(LogoutArgs),
    /// Search registries for images
    Search(SearchArgs),
    /// Manage Docker
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Remove all stopped containers (`container prune`)
    #[command(hide = true, name = "container-prune")]
    ContainerPrune(PruneArgs),
}
