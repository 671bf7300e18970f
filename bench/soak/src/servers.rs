//! The soak's own database and broker servers. The soak restarts them mid-run, which is not
//! something to do to servers other people use, so it starts private ones: a MariaDB or
//! PostgreSQL data directory and a RabbitMQ node of its own, on their own ports, in the run's
//! work directory, stopped at the end. Needs the Debian packages `mariadb-server`,
//! `postgresql` and `rabbitmq-server` installed (their services need not run), and root (the
//! servers run as their own system users).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

/// Which journal the run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Db {
    /// A SQLite file (one qrpayd instance: SQLite has one writer process).
    Sqlite,
    /// A private MariaDB server.
    Mariadb,
    /// A private PostgreSQL server.
    Postgres,
}

/// A private database server (or a SQLite file).
pub(crate) struct Database {
    kind: Db,
    dir: PathBuf,
    port: u16,
    /// The `database_url` qrpayd is given.
    pub(crate) url: String,
}

async fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("{what}: cannot run"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Runs `command` until it succeeds (bounded): waiting for a server to answer.
async fn until_ok(what: &str, mut command: impl FnMut() -> Command) -> anyhow::Result<()> {
    for _ in 0..240 {
        let ok = command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("{what} did not come up in 60 s")
}

fn postgres_bin(tool: &str) -> anyhow::Result<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (/usr/lib/postgresql)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin").join(tool)))
        .filter(|p| p.exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .with_context(|| format!("no PostgreSQL {tool}"))
}

fn chown(path: &Path, user: &str) -> Command {
    let mut c = Command::new("chown");
    c.arg("-R").arg(user).arg(path);
    c
}

impl Database {
    /// Creates and starts the database in `work`.
    pub(crate) async fn start(kind: Db, work: &Path, port: u16) -> anyhow::Result<Database> {
        let dir = work.join("db");
        std::fs::create_dir_all(&dir)?;
        let url = match kind {
            Db::Sqlite => format!("sqlite://{}/journal.db?mode=rwc", dir.display()),
            Db::Mariadb => format!("mysql://root@127.0.0.1:{port}/qrpayd_soak"),
            Db::Postgres => format!("postgres://root@127.0.0.1:{port}/qrpayd_soak"),
        };
        let db = Database {
            kind,
            dir,
            port,
            url,
        };
        match kind {
            Db::Sqlite => {}
            Db::Mariadb => {
                run(
                    Command::new("mariadb-install-db")
                        .arg("--no-defaults")
                        .arg(format!("--datadir={}", db.dir.join("data").display()))
                        .arg("--user=root")
                        .arg("--auth-root-authentication-method=normal"),
                    "mariadb-install-db",
                )
                .await?;
                db.launch().await?;
                run(
                    Command::new("mariadb")
                        .args(["-h127.0.0.1", &format!("-P{port}"), "-uroot", "-e"])
                        .arg("CREATE DATABASE qrpayd_soak"),
                    "CREATE DATABASE",
                )
                .await?;
            }
            Db::Postgres => {
                run(&mut chown(&db.dir, "postgres"), "chown").await?;
                run(
                    Command::new("runuser")
                        .args(["-u", "postgres", "--"])
                        .arg(postgres_bin("initdb")?)
                        .arg("-D")
                        .arg(db.dir.join("data"))
                        .args(["-U", "root", "--auth=trust", "-E", "UTF8"]),
                    "initdb",
                )
                .await?;
                db.launch().await?;
                run(
                    Command::new("psql")
                        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
                        .args(["-U", "root", "-d", "postgres", "-qc"])
                        .arg("CREATE DATABASE qrpayd_soak"),
                    "CREATE DATABASE",
                )
                .await?;
            }
        }
        Ok(db)
    }

    /// Starts the server on its existing data and waits until it answers.
    async fn launch(&self) -> anyhow::Result<()> {
        let port = self.port.to_string();
        match self.kind {
            Db::Sqlite => Ok(()),
            Db::Mariadb => {
                Command::new("mariadbd")
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", self.dir.join("data").display()))
                    .arg("--user=root")
                    .arg(format!("--port={port}"))
                    .arg("--bind-address=127.0.0.1")
                    .arg(format!("--socket={}", self.dir.join("sock").display()))
                    .arg(format!("--pid-file={}", self.dir.join("pid").display()))
                    .arg(format!(
                        "--log-error={}",
                        self.dir.join("error.log").display()
                    ))
                    .arg("--max-connections=500")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .kill_on_drop(false)
                    .spawn()
                    .context("mariadbd")?;
                until_ok("MariaDB", || {
                    let mut c = Command::new("mariadb-admin");
                    c.args(["-h127.0.0.1", &format!("-P{port}"), "-uroot", "ping"]);
                    c
                })
                .await
            }
            Db::Postgres => {
                run(
                    Command::new("runuser")
                        .args(["-u", "postgres", "--"])
                        .arg(postgres_bin("pg_ctl")?)
                        .arg("-D")
                        .arg(self.dir.join("data"))
                        .arg("-o")
                        .arg(format!(
                            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
                            self.dir.display()
                        ))
                        .arg("-l")
                        .arg(self.dir.join("server.log"))
                        .args(["-w", "start"]),
                    "pg_ctl start",
                )
                .await?;
                until_ok("PostgreSQL", || {
                    let mut c = Command::new("pg_isready");
                    c.args(["-h", "127.0.0.1", "-p", &port]);
                    c
                })
                .await
            }
        }
    }

    /// Kills the server without warning (SIGKILL / immediate shutdown).
    async fn crash(&self) -> anyhow::Result<()> {
        match self.kind {
            Db::Sqlite => Ok(()),
            Db::Mariadb => {
                let pid = std::fs::read_to_string(self.dir.join("pid"))?;
                run(
                    Command::new("kill").args(["-9", pid.trim()]),
                    "kill mariadbd",
                )
                .await?;
                // Wait for the port to close before starting again on the same data.
                for _ in 0..100 {
                    if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(())
            }
            Db::Postgres => {
                run(
                    Command::new("runuser")
                        .args(["-u", "postgres", "--"])
                        .arg(postgres_bin("pg_ctl")?)
                        .arg("-D")
                        .arg(self.dir.join("data"))
                        .args(["-m", "immediate", "-w", "stop"]),
                    "pg_ctl stop",
                )
                .await
            }
        }
    }

    /// Crashes the server, leaves it down for `down`, and starts it again.
    pub(crate) async fn restart(&self, down: Duration) -> anyhow::Result<()> {
        self.crash().await?;
        tokio::time::sleep(down).await;
        self.launch().await
    }

    /// Is it a server (that can be restarted), rather than a file?
    pub(crate) fn is_server(&self) -> bool {
        self.kind != Db::Sqlite
    }
}

/// A private RabbitMQ node.
pub(crate) struct Broker {
    dir: PathBuf,
    node: String,
    /// The `amqp_url` qrpayd and the consumer are given.
    pub(crate) url: String,
}

impl Broker {
    /// Creates and starts a node listening on `port` (its Erlang distribution on
    /// `port + 20000`).
    pub(crate) async fn start(work: &Path, port: u16) -> anyhow::Result<Broker> {
        let dir = work.join("rabbitmq");
        std::fs::create_dir_all(dir.join("log"))?;
        std::fs::create_dir_all(dir.join("mnesia"))?;
        std::fs::write(dir.join("enabled_plugins"), "[].\n")?;
        // The machine's own rabbitmq.conf names port 5672; this node has its own file.
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.local = 127.0.0.1:{port}\nloopback_users = none\n"),
        )?;
        run(&mut chown(&dir, "rabbitmq"), "chown").await?;
        let broker = Broker {
            node: format!("qrpayd-soak-{port}@localhost"),
            url: format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
            dir,
        };
        broker.launch(port).await?;
        Ok(broker)
    }

    fn port(&self) -> anyhow::Result<u16> {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .context("broker port")
    }

    async fn launch(&self, port: u16) -> anyhow::Result<()> {
        let dist = port.checked_add(20_000).context("port")?;
        run(
            Command::new("rabbitmq-server")
                .arg("-detached")
                .current_dir(&self.dir)
                .env("RABBITMQ_NODENAME", &self.node)
                .env("RABBITMQ_CONFIG_FILE", self.dir.join("rabbitmq.conf"))
                .env("RABBITMQ_DIST_PORT", dist.to_string())
                .env("RABBITMQ_MNESIA_BASE", self.dir.join("mnesia"))
                .env("RABBITMQ_LOG_BASE", self.dir.join("log"))
                .env(
                    "RABBITMQ_ENABLED_PLUGINS_FILE",
                    self.dir.join("enabled_plugins"),
                )
                .env("RABBITMQ_PID_FILE", self.dir.join("pid")),
            "rabbitmq-server",
        )
        .await?;
        until_ok("RabbitMQ", || {
            let mut c = Command::new("rabbitmq-diagnostics");
            c.args(["-n", &self.node, "-q", "check_port_connectivity"]);
            c
        })
        .await
    }

    /// Stops the node, leaves it down for `down`, and starts it again.
    pub(crate) async fn restart(&self, down: Duration) -> anyhow::Result<()> {
        self.stop_node().await?;
        tokio::time::sleep(down).await;
        self.launch(self.port()?).await
    }

    async fn stop_node(&self) -> anyhow::Result<()> {
        run(
            Command::new("rabbitmqctl").args(["-n", &self.node, "-q", "stop"]),
            "rabbitmqctl stop",
        )
        .await
    }
}

/// Runs `program` with `args` to the end, quietly (a server's last stop, from `Drop`).
fn stop_now(program: &std::ffi::OsStr, args: &[&std::ffi::OsStr]) {
    let _ = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The servers stop when the run ends, however it ends (a failed check, an error).
impl Drop for Database {
    fn drop(&mut self) {
        match self.kind {
            Db::Sqlite => {}
            Db::Mariadb => {
                if let Ok(pid) = std::fs::read_to_string(self.dir.join("pid")) {
                    stop_now("kill".as_ref(), &["-9".as_ref(), pid.trim().as_ref()]);
                }
            }
            Db::Postgres => {
                if let Ok(pg_ctl) = postgres_bin("pg_ctl") {
                    let data = self.dir.join("data");
                    stop_now(
                        "runuser".as_ref(),
                        &[
                            "-u".as_ref(),
                            "postgres".as_ref(),
                            "--".as_ref(),
                            pg_ctl.as_os_str(),
                            "-D".as_ref(),
                            data.as_os_str(),
                            "-m".as_ref(),
                            "immediate".as_ref(),
                            "stop".as_ref(),
                        ],
                    );
                }
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        stop_now(
            "rabbitmqctl".as_ref(),
            &[
                "-n".as_ref(),
                self.node.as_ref(),
                "-q".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}
