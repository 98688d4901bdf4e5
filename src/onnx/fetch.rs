//! ONNX Runtime from PyPI without Python (feature `fetch-runtime`): the official `onnxruntime` wheel for
//! the running platform, downloaded once into the user's cache folder, checked against the sha256 that
//! PyPI publishes for it, and its shared libraries extracted.
//!
//! [`onnx_runtime`](super::onnx_runtime) calls [`fetch_onnx_runtime`] by itself when no library is found
//! (and neither an explicit path nor `ORT_DYLIB_PATH` is given); call it yourself to fetch at a time of
//! your choosing, or to pick a GPU build ([`RuntimePackage`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bevy::log::{info, warn};
use sha2::{Digest, Sha256};

use super::library::{ONNXRUNTIME_VERSION, library_file_name};
use crate::error::{Error, Result};

/// The package index asked by default (PEP 691 JSON); `BEVY_TALKING_HEAD_PYPI_INDEX` replaces it (a mirror).
pub const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// Which ONNX Runtime build to fetch: the PyPI projects of the official builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuntimePackage {
    /// `onnxruntime`: the CPU build (and CoreML on macOS).
    #[default]
    Cpu,
    /// `onnxruntime-gpu`: CUDA and TensorRT (Linux and Windows, x86_64); CUDA itself must be installed.
    Gpu,
    /// `onnxruntime-directml`: DirectML (Windows).
    DirectMl,
}

impl RuntimePackage {
    /// The PyPI project name.
    pub fn project(self) -> &'static str {
        match self {
            RuntimePackage::Cpu => "onnxruntime",
            RuntimePackage::Gpu => "onnxruntime-gpu",
            RuntimePackage::DirectMl => "onnxruntime-directml",
        }
    }
}

/// What [`fetch_onnx_runtime`] fetches, from where, and where it keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchOptions {
    /// The build.
    pub package: RuntimePackage,
    /// The package index (PEP 691 "simple" API): `BEVY_TALKING_HEAD_PYPI_INDEX`, else [`DEFAULT_INDEX`].
    pub index: String,
    /// The cache folder: `BEVY_TALKING_HEAD_CACHE`, else the user's cache folder
    /// (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on
    /// Windows) + `bevy_talking_head`. The library goes in `onnxruntime/<project>-<version>-<platform>/`.
    pub cache_dir: PathBuf,
    /// Gives up on a connection or a stalled download after this long.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            package: RuntimePackage::default(),
            index: std::env::var("BEVY_TALKING_HEAD_PYPI_INDEX")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| DEFAULT_INDEX.to_owned()),
            cache_dir: default_cache_dir(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Beside a fetched library: the sha256 and name of the wheel it came from (written last).
const STAMP: &str = ".wheel-sha256";

impl FetchOptions {
    /// Where the fetched library goes: `<cache_dir>/onnxruntime/<project>-<version>-<os>-<arch>`.
    pub fn install_dir(&self) -> PathBuf {
        self.cache_dir.join("onnxruntime").join(format!(
            "{}-{ONNXRUNTIME_VERSION}-{}-{}",
            self.package.project(),
            std::env::consts::OS,
            std::env::consts::ARCH
        ))
    }

    /// The library an earlier fetch left in the cache (complete: its stamp is written last).
    pub fn cached_library(&self) -> Option<PathBuf> {
        let dir = self.install_dir();
        let library = dir.join(library_file_name());
        (library.is_file() && dir.join(STAMP).is_file()).then_some(library)
    }
}

/// The user's cache folder for this crate (see [`FetchOptions::cache_dir`]).
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BEVY_TALKING_HEAD_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(target_os = "windows") {
        env("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Caches"))
    } else {
        env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
    };
    base.unwrap_or_else(std::env::temp_dir)
        .join("bevy_talking_head")
}

/// How this platform's wheels are named: `(platform tag prefix, suffix)`; `None` where no official wheel
/// exists.
pub fn platform_tag() -> Option<(&'static str, &'static str)> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some(("manylinux", "_x86_64.whl")),
        ("linux", "aarch64") => Some(("manylinux", "_aarch64.whl")),
        ("macos", "aarch64") => Some(("macosx", "_arm64.whl")),
        ("macos", "x86_64") => Some(("macosx", "_x86_64.whl")),
        ("windows", "x86_64") => Some(("win_amd64", ".whl")),
        ("windows", "aarch64") => Some(("win_arm64", ".whl")),
        _ => None,
    }
}

/// One file of a project's index page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct IndexFile {
    /// `onnxruntime-1.31.1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl`
    pub filename: String,
    /// Where to download it.
    pub url: String,
    /// Its digests; `sha256` is the one checked.
    #[serde(default)]
    pub hashes: std::collections::BTreeMap<String, String>,
    /// Its size in bytes, when the index says.
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(serde::Deserialize)]
struct IndexPage {
    files: Vec<IndexFile>,
}

/// The wheel of `project` at `version` for the platform `tag` among `files`: any Python tag (the native
/// library in each is the same build), the lowest one for a stable choice.
pub fn pick_wheel<'a>(
    files: &'a [IndexFile],
    project: &str,
    version: &str,
    tag: (&str, &str),
) -> Option<&'a IndexFile> {
    let prefix = format!("{}{version}-", wheel_prefix(project));
    files
        .iter()
        .filter(|f| {
            let Some(rest) = f.filename.strip_prefix(&prefix) else {
                return false;
            };
            // <python tag>-<abi tag>-<platform tag>.whl
            let platform = rest.splitn(3, '-').nth(2).unwrap_or("");
            platform.starts_with(tag.0) && platform.ends_with(tag.1)
        })
        .min_by(|a, b| a.filename.cmp(&b.filename))
}

static OPTIONS: Mutex<Option<FetchOptions>> = Mutex::new(None);

/// What [`onnx_runtime`](super::onnx_runtime) fetches when it finds no library (the plugin sets it from
/// [`TalkingHeadPlugin::runtime_fetch`](crate::TalkingHeadPlugin::runtime_fetch)); default
/// [`FetchOptions::default`].
pub fn set_fetch_options(options: FetchOptions) {
    *OPTIONS.lock().unwrap_or_else(|e| e.into_inner()) = Some(options);
}

pub(crate) fn fetch_options() -> FetchOptions {
    OPTIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// How the wheels of `project` begin: its name with `_` for `-`, then `-` (`onnxruntime_gpu-`).
fn wheel_prefix(project: &str) -> String {
    format!("{}-", project.replace('-', "_"))
}

/// The three newest versions among the wheels of `project` in `files`, newest first.
fn newest_versions(files: &[IndexFile], project: &str) -> Vec<String> {
    let prefix = wheel_prefix(project);
    let mut versions: Vec<Vec<u64>> = files
        .iter()
        .filter(|f| f.filename.ends_with(".whl"))
        .filter_map(|f| f.filename.strip_prefix(&prefix)?.split('-').next())
        .filter_map(|v| {
            v.split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u64>>>()
        })
        .collect();
    versions.sort();
    versions.dedup();
    versions
        .iter()
        .rev()
        .take(3)
        .map(|v| v.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
        .collect()
}

/// A fetch that failed lately: callers within this long get its error again instead of a new try.
const RETRY_AFTER: Duration = Duration::from_secs(30);
type Failure = (Instant, FetchOptions, String, String);
/// The latest failure of each set of options (a failure with other options, say the GPU build's, must not
/// make the CPU build's callers try again at once).
static LAST_FAILURES: Mutex<Vec<Failure>> = Mutex::new(Vec::new());

/// Fetches (once; later calls find it in the cache) the ONNX Runtime library of `options.package` at
/// [`ONNXRUNTIME_VERSION`] and returns its path, to give to [`onnx_runtime`](super::onnx_runtime).
///
/// Progress goes to the log (`info`): the wheel's name and size, every 10 %, the check, the extraction.
/// A download that fails, or whose sha256 differs from the index's, leaves nothing in the cache and is an
/// [`Error::RuntimeFetch`] naming the URL and the problem; for 30 s after a failure, calls return that
/// error again without a new try (each model load asks).
pub fn fetch_onnx_runtime(options: &FetchOptions) -> Result<PathBuf> {
    let (prefix, suffix) = platform_tag().ok_or_else(|| {
        fail(
            &options.index,
            format!(
                "PyPI has no ONNX Runtime wheel for {} {}: set ORT_DYLIB_PATH to a library built for it",
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
        )
    })?;
    if let Some(cached) = options.cached_library() {
        return Ok(cached);
    }
    let project = options.package.project();
    let dir = options.install_dir();
    let library = dir.join(library_file_name());
    let stamp = dir.join(STAMP);
    {
        let mut failures = LAST_FAILURES.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|(at, ..)| at.elapsed() < RETRY_AFTER);
        if let Some((at, _, url, problem)) = failures.iter().find(|(_, opts, ..)| opts == options) {
            return Err(fail(
                url,
                format!(
                    "{problem} (a try {:.0} s ago; the next after {} s)",
                    at.elapsed().as_secs_f32(),
                    RETRY_AFTER.as_secs()
                ),
            ));
        }
    }
    let result = download_and_extract(options, project, (prefix, suffix), &dir, &stamp);
    let mut failures = LAST_FAILURES.lock().unwrap_or_else(|e| e.into_inner());
    failures.retain(|(_, opts, ..)| opts != options);
    match result {
        Ok(()) => Ok(library),
        Err(e) => {
            if let Error::RuntimeFetch { url, problem } = &e {
                warn!("bevy_talking_head: fetching ONNX Runtime from {url} failed: {problem}");
                failures.push((
                    Instant::now(),
                    options.clone(),
                    url.clone(),
                    problem.clone(),
                ));
            }
            Err(e)
        }
    }
}

fn fail(url: &str, problem: String) -> Error {
    Error::RuntimeFetch {
        url: url.to_owned(),
        problem,
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig};
    ureq::Agent::config_builder()
        // The platform's certificate store: a company proxy's own authority is trusted as the OS trusts it.
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .user_agent(concat!("bevy_talking_head/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn download_and_extract(
    options: &FetchOptions,
    project: &str,
    tag: (&str, &str),
    dir: &Path,
    stamp: &Path,
) -> Result<()> {
    let agent = agent(options.timeout);
    let index_url = format!("{}/{project}/", options.index.trim_end_matches('/'));
    info!("bevy_talking_head: looking up {project} {ONNXRUNTIME_VERSION} at {index_url}");
    let page: IndexPage = agent
        .get(&index_url)
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .and_then(|mut r| r.body_mut().with_config().limit(64 << 20).read_to_vec())
        .map_err(|e| fail(&index_url, e.to_string()))
        .and_then(|body| {
            serde_json::from_slice(&body)
                .map_err(|e| fail(&index_url, format!("not a PEP 691 index page: {e}")))
        })?;
    let wheel = pick_wheel(&page.files, project, ONNXRUNTIME_VERSION, tag).ok_or_else(|| {
        let prefix = format!("{}{ONNXRUNTIME_VERSION}-", wheel_prefix(project));
        let problem = if page.files.iter().any(|f| f.filename.starts_with(&prefix)) {
            format!(
                "no {project} {ONNXRUNTIME_VERSION} wheel for this platform (*{}*{}) among its {} files",
                tag.0,
                tag.1,
                page.files.len()
            )
        } else {
            format!(
                "the index has no {project} {ONNXRUNTIME_VERSION} (this crate's version); its newest: {}",
                newest_versions(&page.files, project).join(", ")
            )
        };
        fail(&index_url, problem)
    })?;
    let want = wheel
        .hashes
        .get("sha256")
        .map(|h| h.to_ascii_lowercase())
        .ok_or_else(|| {
            fail(
                &index_url,
                format!("the index gives no sha256 for {}", wheel.filename),
            )
        })?;
    // A relative URL (some mirrors) is relative to the index page.
    let url = if wheel.url.contains("://") {
        wheel.url.clone()
    } else {
        format!("{index_url}{}", wheel.url)
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(&url, format!("{}: {e}", dir.display())))?;
    let part = dir.join(format!("{}.{}.part", wheel.filename, std::process::id()));
    let downloaded = download(&agent, &url, &part, wheel.size, &want, &wheel.filename);
    let extracted = downloaded.and_then(|()| {
        extract(&part, dir).map_err(|problem| format!("{}: {problem}", wheel.filename))
    });
    let _ = std::fs::remove_file(&part);
    let libs = extracted.map_err(|problem| fail(&url, problem))?;
    std::fs::write(stamp, format!("{want}  {}\n", wheel.filename))
        .map_err(|e| fail(&url, format!("{}: {e}", stamp.display())))?;
    info!(
        "bevy_talking_head: ONNX Runtime {ONNXRUNTIME_VERSION} ({project}) is in {}: {}",
        dir.display(),
        libs.join(", ")
    );
    Ok(())
}

/// Downloads `url` into `part`, logging progress, and checks its sha256.
fn download(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    size: Option<u64>,
    want: &str,
    name: &str,
) -> std::result::Result<(), String> {
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = size.or_else(|| response.body().content_length());
    let mb = |b: u64| b as f64 / 1e6;
    match total {
        Some(t) => info!("bevy_talking_head: downloading {name} ({:.1} MB)", mb(t)),
        None => info!("bevy_talking_head: downloading {name}"),
    }
    // The largest official wheel (onnxruntime-gpu) is under 400 MB.
    let mut reader = response.body_mut().with_config().limit(1 << 30).reader();
    let mut file = std::fs::File::create(part).map_err(|e| format!("{}: {e}", part.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    let mut next_tenth = 1u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("the download stopped after {:.1} MB: {e}", mb(got)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| format!("{}: {e}", part.display()))?;
        got += n as u64;
        if let Some(t) = total.filter(|t| *t > 0) {
            while next_tenth <= 10 && got * 10 >= t * next_tenth {
                info!(
                    "bevy_talking_head: {name}: {}0 % ({:.1} of {:.1} MB)",
                    next_tenth,
                    mb(got),
                    mb(t)
                );
                next_tenth += 1;
            }
        }
    }
    file.sync_all()
        .map_err(|e| format!("{}: {e}", part.display()))?;
    let have: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if have != want {
        return Err(format!(
            "sha256 mismatch: the index publishes {want}, the {got} bytes received hash to {have}; nothing was kept"
        ));
    }
    info!("bevy_talking_head: {name}: sha256 checked");
    Ok(())
}

/// Extracts the wheel's native libraries (`onnxruntime/capi/*.so*|*.dll|*.dylib`, not Python's extension
/// module) into `dir`, each through a temporary file; returns their names.
fn extract(wheel: &Path, dir: &Path) -> std::result::Result<Vec<String>, String> {
    let file = std::fs::File::open(wheel).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("not a wheel: {e}"))?;
    let members: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| is_library(n))
        .collect();
    let main = library_file_name();
    if !members.iter().any(|m| m.ends_with(&format!("/{main}"))) {
        return Err(format!("it has no onnxruntime/capi/{main}"));
    }
    let mut names = Vec::new();
    for member in members {
        let name = member.rsplit('/').next().unwrap_or(&member).to_owned();
        let target = dir.join(&name);
        let tmp = dir.join(format!("{name}.{}.part", std::process::id()));
        let mut entry = zip.by_name(&member).map_err(|e| format!("{member}: {e}"))?;
        let mut out = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::io::copy(&mut entry, &mut out)
            .and_then(|_| out.sync_all())
            .map_err(|e| format!("{member}: {e}"))?;
        std::fs::rename(&tmp, &target).map_err(|e| format!("{}: {e}", target.display()))?;
        names.push(name);
    }
    Ok(names)
}

fn is_library(member: &str) -> bool {
    let Some(name) = member.strip_prefix("onnxruntime/capi/") else {
        return false;
    };
    !name.contains('/')
        && !name.contains("pybind")
        && (name.ends_with(".dll")
            || name.ends_with(".dylib")
            || name.ends_with(".so")
            || name.contains(".so."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> IndexFile {
        IndexFile {
            filename: name.into(),
            url: format!("https://files.example/{name}"),
            hashes: [("sha256".to_owned(), "ab".to_owned())].into(),
            size: None,
        }
    }

    #[test]
    fn the_wheel_for_the_platform_and_version_is_picked_whatever_its_python_tag() {
        let files = [
            file("onnxruntime-1.31.1.tar.gz"),
            file("onnxruntime-1.31.0-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"),
            file("onnxruntime-1.31.1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"),
            file("onnxruntime-1.31.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"),
            file(
                "onnxruntime-1.31.1-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl",
            ),
            file("onnxruntime-1.31.1-cp311-cp311-macosx_14_0_arm64.whl"),
            file("onnxruntime-1.31.1-cp311-cp311-win_amd64.whl"),
            file("onnxruntime_gpu-1.31.1-cp311-cp311-win_amd64.whl"),
        ];
        let pick = |tag| pick_wheel(&files, "onnxruntime", "1.31.1", tag).map(|f| &f.filename[..]);
        assert_eq!(
            pick(("manylinux", "_x86_64.whl")),
            Some("onnxruntime-1.31.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
        );
        assert_eq!(
            pick(("manylinux", "_aarch64.whl")),
            Some(
                "onnxruntime-1.31.1-cp311-cp311-manylinux_2_27_aarch64.manylinux_2_28_aarch64.whl"
            )
        );
        assert_eq!(
            pick(("macosx", "_arm64.whl")),
            Some("onnxruntime-1.31.1-cp311-cp311-macosx_14_0_arm64.whl")
        );
        assert_eq!(pick(("macosx", "_x86_64.whl")), None);
        assert_eq!(
            pick(("win_amd64", ".whl")),
            Some("onnxruntime-1.31.1-cp311-cp311-win_amd64.whl")
        );
        assert_eq!(
            pick_wheel(&files, "onnxruntime-gpu", "1.31.1", ("win_amd64", ".whl"))
                .map(|f| &f.filename[..]),
            Some("onnxruntime_gpu-1.31.1-cp311-cp311-win_amd64.whl")
        );
    }

    #[test]
    fn only_the_native_libraries_of_the_wheel_are_extracted() {
        assert!(is_library("onnxruntime/capi/libonnxruntime.so.1.31.1"));
        assert!(is_library(
            "onnxruntime/capi/libonnxruntime_providers_shared.so"
        ));
        assert!(is_library("onnxruntime/capi/onnxruntime.dll"));
        assert!(is_library("onnxruntime/capi/libonnxruntime.1.31.1.dylib"));
        assert!(!is_library(
            "onnxruntime/capi/onnxruntime_pybind11_state.cpython-311-x86_64-linux-gnu.so"
        ));
        assert!(!is_library("onnxruntime/capi/__init__.py"));
        assert!(!is_library("onnxruntime/capi/sub/libx.so"));
        assert!(!is_library("onnxruntime.libs/libgomp.so.1"));
    }

    /// A tiny HTTP server on loopback, its routes made from its address; counts the requests it answers.
    fn serve(
        routes: impl FnOnce(&str) -> Vec<(String, Vec<u8>)>,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::BufRead;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = routes(&base);
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                        break;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let reply = match routes.iter().find(|(p, _)| *p == path) {
                    Some((_, body)) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend_from_slice(body);
                        r
                    }
                    None => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&reply);
            }
        });
        (base, hits)
    }

    /// A wheel-shaped zip: the main library, the providers helper, Python's extension module and a .py.
    fn wheel() -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            (
                format!("onnxruntime/capi/{}", library_file_name()),
                &b"the library"[..],
            ),
            (
                "onnxruntime/capi/libonnxruntime_providers_shared.so".into(),
                b"helper",
            ),
            (
                "onnxruntime/capi/onnxruntime_pybind11_state.so".into(),
                b"python",
            ),
            ("onnxruntime/__init__.py".into(), b"import this"),
        ] {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn sha256(bytes: &[u8]) -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// An index page listing a source archive and the wheel `filename` (with `sha`) at `/files/w.whl`,
    /// and that wheel.
    fn routes(base: &str, filename: &str, sha: &str, wheel: &[u8]) -> Vec<(String, Vec<u8>)> {
        let page = serde_json::json!({"files": [
            {"filename": "onnxruntime-1.31.1.tar.gz", "url": format!("{base}/files/src.tar.gz"),
             "hashes": {"sha256": "00"}},
            {"filename": filename, "url": format!("{base}/files/w.whl"), "hashes": {"sha256": sha},
             "size": wheel.len()}
        ]});
        vec![
            ("/onnxruntime/".into(), page.to_string().into_bytes()),
            ("/files/w.whl".into(), wheel.to_vec()),
        ]
    }

    fn this_platform_wheel() -> String {
        let (prefix, suffix) = platform_tag().expect("a platform with wheels");
        format!("onnxruntime-{ONNXRUNTIME_VERSION}-cp311-cp311-{prefix}_2_28{suffix}")
    }

    fn options(index: &str, test: &str) -> FetchOptions {
        let cache_dir =
            std::env::temp_dir().join(format!("bth-fetch-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache_dir);
        FetchOptions {
            package: RuntimePackage::Cpu,
            index: index.to_owned(),
            cache_dir,
            timeout: Duration::from_secs(10),
        }
    }

    /// Where the library must land, spelled out (not through `install_dir`, which it checks).
    fn target_dir(options: &FetchOptions) -> PathBuf {
        options.cache_dir.join("onnxruntime").join(format!(
            "onnxruntime-{ONNXRUNTIME_VERSION}-{}-{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ))
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn the_wheel_is_downloaded_checked_and_its_libraries_extracted_once() {
        use std::sync::atomic::Ordering;
        let wheel = wheel();
        let sha = sha256(&wheel);
        let (base, hits) = serve(|base| routes(base, &this_platform_wheel(), &sha, &wheel));
        let options = options(&base, "ok");
        let library = fetch_onnx_runtime(&options).unwrap();
        assert_eq!(library, target_dir(&options).join(library_file_name()));
        assert_eq!(std::fs::read(&library).unwrap(), b"the library");
        let mut want = vec![
            ".wheel-sha256".to_owned(),
            library_file_name().to_owned(),
            "libonnxruntime_providers_shared.so".to_owned(),
        ];
        want.sort();
        assert_eq!(
            files_in(library.parent().unwrap()),
            want,
            "the native libraries and the stamp; not Python's module, the wheel or partial files"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            2,
            "the index page and the wheel"
        );
        // The second time it is in the cache: no request.
        assert_eq!(fetch_onnx_runtime(&options).unwrap(), library);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        let _ = std::fs::remove_dir_all(&options.cache_dir);
    }

    #[test]
    fn a_wheel_not_matching_its_published_sha256_is_refused_and_nothing_is_kept() {
        use std::sync::atomic::Ordering;
        let wheel = wheel();
        let wrong = sha256(b"another file");
        let (base, hits) = serve(|base| routes(base, &this_platform_wheel(), &wrong, &wheel));
        let options = options(&base, "sha");
        let e = fetch_onnx_runtime(&options).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(&e, Error::RuntimeFetch { url, .. } if url.ends_with("/files/w.whl"))
                && text.contains("sha256 mismatch")
                && text.contains(&wrong)
                && text.contains(&sha256(&wheel)),
            "{text}"
        );
        assert_eq!(files_in(&target_dir(&options)), Vec::<String>::new());
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        // A failure with other options in between (another build, another test on another thread) does not
        // make these options try again (CI failed here when one remembered failure served all options).
        let other = self::options("http://127.0.0.1:1/simple", "sha-other");
        assert!(fetch_onnx_runtime(&other).is_err());
        // Asked again at once (every model load asks): the same error, no new download.
        let again = fetch_onnx_runtime(&options).unwrap_err().to_string();
        assert!(
            again.contains("sha256 mismatch")
                && again.contains("/files/w.whl")
                && again.contains("a try"),
            "{again}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        let _ = std::fs::remove_dir_all(&options.cache_dir);
    }

    #[test]
    fn no_network_and_no_wheel_for_the_platform_are_errors_naming_the_url() {
        // Nothing listens on port 1 of loopback: the connection is refused at once.
        let offline = options("http://127.0.0.1:1/simple", "offline");
        let e = fetch_onnx_runtime(&offline).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "cannot fetch ONNX Runtime from `http://127.0.0.1:1/simple/onnxruntime/`"
            ),
            "{e}"
        );
        let wheel = wheel();
        let sha = sha256(&wheel);
        let other = "onnxruntime-1.31.1-cp311-cp311-some_other_platform.whl";
        let (base, _) = serve(|base| routes(base, other, &sha, &wheel));
        let e = fetch_onnx_runtime(&options(&base, "platform"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/onnxruntime/`")
                && e.contains("no onnxruntime 1.31.1 wheel for this platform"),
            "{e}"
        );
        // A build PyPI stopped publishing before this version (onnxruntime-directml ends at 1.24.4).
        let (base, _) = serve(|base| {
            let mut r = routes(
                base,
                "onnxruntime_directml-1.24.4-cp311-cp311-win_amd64.whl",
                &sha,
                &wheel,
            );
            r[0].0 = "/onnxruntime-directml/".into();
            r
        });
        let mut directml = options(&base, "directml");
        directml.package = RuntimePackage::DirectMl;
        let e = fetch_onnx_runtime(&directml).unwrap_err().to_string();
        assert!(
            e.contains("the index has no onnxruntime-directml 1.31.1")
                && e.contains("its newest: 1.24.4"),
            "{e}"
        );
    }
}
