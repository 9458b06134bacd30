//! `ocomms-bench files`: file transfer through the host's embedded store, against the disk.
//!
//! A host with its embedded store; one workspace. Per round, a file of incompressible bytes
//! (default 50 MB) goes the whole way a browser sends it: start (`POST /channels/{id}/files`),
//! the presigned PUT, complete (HEAD and sniff), sent in a message, then `GET
//! /files/{id}/url` and the presigned GET, checked byte for byte. Beside it, the same bytes
//! written to and read back from the same disk (`write` + `fsync`, then `read`): the ceiling
//! the store works under. Then the cost of a thumbnail: completing the upload of a
//! 12-megapixel camera JPEG (read whole, decoded, scaled, turned, encoded and stored) against
//! completing one of as many random bytes (a HEAD and a 64 KiB read). Figures only, never
//! assertions on time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::api::Api;
use crate::args::{default_host, workspace_root};
use crate::host::{Host, usable_nofile};
use crate::stats::r3;

const USAGE: &str = "\
ocomms-bench files: upload and download through the embedded store, against the disk

  --mb N          file size in MB (default 50)
  --rounds N      transfers of that size (default 3)
  --host PATH     the wasm-host binary (default: beside this binary, else target/release)
  --out PATH      JSON figures (default bench/out/files.json)";

struct Args {
    mb: usize,
    rounds: usize,
    host: PathBuf,
    out: PathBuf,
}

fn parse(argv: &[String]) -> Result<Option<Args>> {
    let mut a = Args { mb: 50, rounds: 3, host: default_host(), out: workspace_root().join("bench/out/files.json") };
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--mb" => a.mb = value("--mb")?.parse().context("--mb")?,
            "--rounds" => a.rounds = value("--rounds")?.parse().context("--rounds")?,
            "--host" => a.host = value("--host")?.into(),
            "--out" => a.out = value("--out")?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if a.mb == 0 || a.rounds == 0 {
        bail!("--mb and --rounds must be at least 1");
    }
    Ok(Some(a))
}

/// Incompressible bytes (xorshift), so no layer can shortcut them.
fn payload(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run(argv: &[String]) -> Result<()> {
    let Some(args) = parse(argv)? else { return Ok(()) };
    let bytes = args.mb * 1_000_000;
    let body = payload(bytes);
    let root = workspace_root();
    let logs = root.join("bench/out");
    std::fs::create_dir_all(&logs)?;
    let mut host = Host::start(
        &args.host,
        &root.join("spin.toml"),
        &root,
        logs.join("files-host.log"),
        usable_nofile(4096)?,
        Duration::from_secs(180),
    )?;
    let result = transfer(&host, &args, &body).await;
    let pictures = match &result {
        Ok(_) => completions(&host, args.rounds).await,
        Err(_) => Ok(Completions::default()),
    };
    host.stop();
    let (up, down, disk_w, disk_r) = result?;
    let pictures = pictures?;

    let (up_m, down_m, w_m, r_m) =
        (median(up.clone()), median(down.clone()), median(disk_w.clone()), median(disk_r.clone()));
    println!("\nfiles: {} MB, {} rounds (median MB/s; each round in brackets)", args.mb, args.rounds);
    let row = |what: &str, v: &[f64], m: f64| {
        let all: Vec<String> = v.iter().map(|x| format!("{x:.0}")).collect();
        println!("  {what:<34} {m:>8.1}   [{}]", all.join(", "));
    };
    row("upload: presigned PUT, embedded", &up, up_m);
    row("download: presigned GET, embedded", &down, down_m);
    row("disk: write + fsync (reference)", &disk_w, w_m);
    row("disk: read (reference)", &disk_r, r_m);
    println!("  ratios: upload/disk write {:.2}, download/disk read {:.2}", up_m / w_m, down_m / r_m);
    let (photo_m, plain_m) = (median(pictures.photo_ms.clone()), median(pictures.plain_ms.clone()));
    println!("\ncomplete an upload of {:.1} MB (median ms; each round in brackets)", pictures.bytes as f64 / 1e6);
    let ms = |what: &str, v: &[f64], m: f64| {
        let all: Vec<String> = v.iter().map(|x| format!("{x:.0}")).collect();
        println!("  {what:<34} {m:>8.1}   [{}]", all.join(", "));
    };
    ms("12 MP JPEG, with its thumbnail", &pictures.photo_ms, photo_m);
    ms("random bytes, no thumbnail", &pictures.plain_ms, plain_m);
    println!("  ratio: {:.1}x", photo_m / plain_m.max(1e-9));
    let json = json!({
        "complete_photo_ms": r3(photo_m), "complete_plain_ms": r3(plain_m), "photo_bytes": pictures.bytes,
        "mb": args.mb, "rounds": args.rounds,
        "upload_mb_s": r3(up_m), "download_mb_s": r3(down_m),
        "disk_write_mb_s": r3(w_m), "disk_read_mb_s": r3(r_m),
        "upload_rounds": up, "download_rounds": down,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    println!("  written to {}", args.out.display());
    Ok(())
}

type Figures = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

#[derive(Default)]
struct Completions {
    bytes: usize,
    photo_ms: Vec<f64>,
    plain_ms: Vec<f64>,
}

/// Times `POST /files/{id}/complete` for a camera photo and for random bytes of its size.
async fn completions(host: &Host, rounds: usize) -> Result<Completions> {
    let api = Api::new(host.proc.addr, host.pid(), 4)?;
    let owner = api.signup("thumbs-bench@example.com", "Thumbs bench").await?;
    let v =
        api.call(reqwest::Method::POST, "/api/v1/workspaces", Some(&owner.token), json!({ "name": "thumbs" })).await?;
    let channel = v["default_channel_id"].as_str().context("default channel")?.to_string();
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(600)).build()?;
    let photo = ocomms_thumbs::fixtures::grainy_photo(4032, 3024);
    let plain = payload(photo.len());
    let mut out = Completions { bytes: photo.len(), ..Completions::default() };
    for round in 0..rounds {
        for (name, content_type, body) in
            [("photo.jpg", "image/jpeg", &photo), ("plain.bin", "application/octet-stream", &plain)]
        {
            let start = api
                .call(
                    reqwest::Method::POST,
                    &format!("/api/v1/channels/{channel}/files"),
                    Some(&owner.token),
                    json!({ "name": name, "content_type": content_type, "size": body.len() }),
                )
                .await?;
            let id = start["file"]["id"].as_str().context("file id")?.to_string();
            let url = start["upload"]["url"].as_str().context("upload url")?;
            http.put(url).header("content-type", content_type).body(body.clone()).send().await?.error_for_status()?;
            let t = Instant::now();
            let done = api
                .call(reqwest::Method::POST, &format!("/api/v1/files/{id}/complete"), Some(&owner.token), json!({}))
                .await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            if content_type == "image/jpeg" {
                if done["file"]["thumbnail"] != true {
                    bail!("round {round}: the photo got no thumbnail: {done}");
                }
                out.photo_ms.push(ms);
            } else {
                out.plain_ms.push(ms);
            }
        }
    }
    Ok(out)
}

async fn transfer(host: &Host, args: &Args, body: &[u8]) -> Result<Figures> {
    let api = Api::new(host.proc.addr, host.pid(), 4)?;
    let owner = api.signup("files-bench@example.com", "Files bench").await?;
    let v =
        api.call(reqwest::Method::POST, "/api/v1/workspaces", Some(&owner.token), json!({ "name": "files" })).await?;
    let channel = v["default_channel_id"].as_str().context("default channel")?.to_string();
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(600)).build()?;
    let (mut up, mut down, mut disk_w, mut disk_r) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let start = api
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/channels/{channel}/files"),
                Some(&owner.token),
                json!({ "name": format!("bench-{round}.bin"), "content_type": "application/octet-stream", "size": body.len() }),
            )
            .await?;
        let id = start["file"]["id"].as_str().context("file id")?.to_string();
        let url = start["upload"]["url"].as_str().context("upload url")?;
        let t = Instant::now();
        let resp = http
            .put(url)
            .header("content-type", "application/octet-stream")
            .body(body.to_vec())
            .send()
            .await
            .context("PUT")?;
        let put_time = t.elapsed();
        if !resp.status().is_success() {
            bail!("PUT: {}: {}", resp.status(), resp.text().await.unwrap_or_default());
        }
        up.push(mb_per_s(body.len(), put_time));
        api.call(reqwest::Method::POST, &format!("/api/v1/files/{id}/complete"), Some(&owner.token), json!({})).await?;
        api.call(
            reqwest::Method::POST,
            &format!("/api/v1/channels/{channel}/messages"),
            Some(&owner.token),
            json!({ "file_ids": [id] }),
        )
        .await?;
        let link: Value = http
            .get(api.url(&format!("/api/v1/files/{id}/url")))
            .bearer_auth(&owner.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let t = Instant::now();
        let got = http.get(link["url"].as_str().context("download url")?).send().await?.bytes().await?;
        down.push(mb_per_s(got.len(), t.elapsed()));
        if got.as_ref() != body {
            bail!("round {round}: the download differs from the upload ({} bytes)", got.len());
        }

        // The disk the store writes to, for reference.
        let path = host.data_dir.join(format!("disk-reference-{round}.bin"));
        let t = Instant::now();
        {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&path)?;
            f.write_all(body)?;
            f.sync_all()?;
        }
        disk_w.push(mb_per_s(body.len(), t.elapsed()));
        let t = Instant::now();
        let back = std::fs::read(&path)?;
        disk_r.push(mb_per_s(back.len(), t.elapsed()));
        std::fs::remove_file(&path)?;
        println!(
            "round {}: upload {:.0} MB/s, download {:.0} MB/s, disk write {:.0} MB/s, read {:.0} MB/s",
            round + 1,
            up[round],
            down[round],
            disk_w[round],
            disk_r[round]
        );
    }
    Ok((up, down, disk_w, disk_r))
}
