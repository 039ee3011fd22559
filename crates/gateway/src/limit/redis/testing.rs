//! A real `redis-server` for tests: started on a free 127.0.0.1 port in a
//! temporary directory, killed when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::Secret;
use crate::limit::redis::RedisConfig;

/// A running `redis-server`.
pub(crate) struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl TestRedis {
    /// Starts one (no persistence, protected mode, 127.0.0.1 only).
    pub(crate) fn start() -> TestRedis {
        TestRedis::start_with(&[])
    }

    /// Starts one with extra arguments (e.g. TLS settings).
    pub(crate) fn start_with(extra: &[String]) -> TestRedis {
        let mut dir = tempfile::tempdir().expect("tempdir");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut r = TestRedis {
                child: None,
                port,
                dir,
                extra: extra.to_vec(),
            };
            match r.spawn() {
                Ok(()) => return r,
                Err(e) => {
                    last = e;
                    r.kill();
                    dir = std::mem::replace(&mut r.dir, tempfile::tempdir().expect("tempdir"));
                }
            }
        }
        panic!("redis-server did not start: {last}");
    }

    /// The plain-TCP port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A store config for this server: `url` written to a secret file.
    pub(crate) fn config(&self, url: &str, timeout: Duration) -> RedisConfig {
        let name = format!("url-{}", rand_suffix());
        std::fs::write(self.dir.path().join(&name), url).expect("write url");
        RedisConfig {
            url: Secret::resolve(&format!("file:{name}"), self.dir.path()).expect("secret"),
            timeout,
            prefix: "test:".into(),
            instances: 1,
        }
    }

    /// SIGKILL, then waits for the process to end.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port; waits until it answers.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("restart failed: {e}"),
                Err(_) => {
                    self.kill();
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// SIGSTOP: the server hangs, its connections stay open.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`TestRedis::pause`].
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} {pid}");
    }

    /// `FLUSHALL`.
    pub(crate) fn flushall(&self) {
        let r = command(self.port, &["FLUSHALL"]).expect("flushall");
        assert_eq!(r, "OK");
    }

    /// A command's call count from `INFO commandstats` (0 if never called).
    pub(crate) fn info_calls(&self, cmd: &str) -> u64 {
        let info = command(self.port, &["INFO", "commandstats"]).expect("info");
        let prefix = format!("cmdstat_{}:calls=", cmd.to_ascii_lowercase());
        info.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Any command, its reply as text (errors as `Err`).
    pub(crate) fn cmd(&self, args: &[&str]) -> Result<String, String> {
        command(self.port, args)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes"])
            .args(&self.extra)
            .current_dir(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("cannot run redis-server (scripts/ensure-redis installs it): {e}")
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match command(self.port, &["PING"]) {
                // With `--requirepass`, refusing an unauthenticated PING is an answer.
                Ok(pong) if pong == "PONG" => return Ok(()),
                Err(e) if e.starts_with("NOAUTH") => return Ok(()),
                _ => {}
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(format!("redis-server exited: {status}"));
            }
            if Instant::now() > deadline {
                return Err("redis-server did not answer PING".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}

/// One RESP exchange on a fresh connection: a simple, integer or bulk reply as
/// text.
fn command(port: u16, args: &[&str]) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end();
    match line.split_at_checked(1) {
        Some(("+" | ":", rest)) => Ok(rest.to_owned()),
        Some(("-", rest)) => Err(rest.to_owned()),
        Some(("$", len)) => {
            let len: usize = len.parse().map_err(|_| "bad bulk length".to_owned())?;
            let mut buf = vec![0; len + 2];
            r.read_exact(&mut buf).map_err(|e| e.to_string())?;
            buf.truncate(len);
            String::from_utf8(buf).map_err(|e| e.to_string())
        }
        _ => Err(format!("unexpected reply {line:?}")),
    }
}
