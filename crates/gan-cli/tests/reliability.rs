//! Nothing lost, runs reproducible: the divergence guard (stop, or roll back with a lower
//! learning rate), a full disk during a checkpoint write, and identical runs from identical
//! configs. (SIGKILL at random moments is in cli.rs; malformed files in the library's
//! fuzz tests.)

mod common;

use adversarial::checkpoint;
use common::{fails, json_lines as lines, ok};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn toy_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/toy/ns.toml")
}

/// A toy run of `steps` iterations, logging every step, a checkpoint every 10.
fn toy_args<'a>(out: &'a Path, steps: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "train",
        "-c",
        toy_config().to_str().unwrap(),
        "--steps",
        steps,
        "--set",
        "train.checkpoint_every=10",
        "--set",
        "train.log_every=1",
        "--set",
        "train.sample_every=0",
        "--set",
        "threads=1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Runs `gan` with a transient NaN injected into D's weights before iteration `at`.
fn gan_with_fault(args: &[String], at: u64) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .env("GAN_FAULT_NAN_AT", at.to_string())
        .output()
        .unwrap()
}

fn steps_logged(run: &Path) -> Vec<u64> {
    lines(&run.join("metrics.jsonl"))
        .iter()
        .map(|l| l["step"].as_u64().unwrap())
        .collect()
}

fn weights_finite(ckpt: &Path) -> bool {
    let c = checkpoint::load(ckpt).unwrap();
    c.tensors
        .values()
        .all(|t| !t.is_floating_point() || bool::try_from(t.isfinite().all()).unwrap())
}

#[test]
fn divergence_stops_with_the_last_good_checkpoint_or_rolls_back() {
    let tmp = tempfile::tempdir().unwrap();

    // stop (the default): the step and cause are reported, the checkpoint of iteration 20
    // is kept as it was, and the run resumes from it
    let run = tmp.path().join("stop");
    let out = gan_with_fault(&toy_args(&run, "60", &[]), 25);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("training diverged at iteration 25")
            && err.contains("not all finite")
            && err.contains("the last checkpoint (iteration 20) is left as it was"),
        "{err}"
    );
    let ck = run.join("checkpoint.safetensors");
    assert_eq!(checkpoint::load(&ck).unwrap().meta.step, 20);
    assert!(weights_finite(&ck));
    let failure: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("failure.json")).unwrap()).unwrap();
    assert_eq!(failure["step"], 25);
    assert_eq!(steps_logged(&run), (1..=24).collect::<Vec<_>>());
    ok(&["train", "--resume", run.to_str().unwrap(), "--quiet"]);
    assert_eq!(steps_logged(&run), (1..=60).collect::<Vec<_>>());
    assert!(
        !run.join("failure.json").exists(),
        "failure.json outlived a good resume"
    );

    // rollback: back to iteration 20, learning rates halved, on to the end
    let run = tmp.path().join("rollback");
    let out = gan_with_fault(
        &toy_args(&run, "60", &["--set", "train.on_divergence=rollback"]),
        25,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rb = lines(&run.join("rollbacks.jsonl"));
    assert_eq!(rb.len(), 1);
    assert_eq!(
        (&rb[0]["step"], &rb[0]["restored_step"], &rb[0]["lr_factor"]),
        (&Value::from(25), &Value::from(20), &Value::from(0.5))
    );
    assert_eq!(steps_logged(&run), (1..=60).collect::<Vec<_>>());
    let ck = run.join("checkpoint.safetensors");
    let meta = checkpoint::load(&ck).unwrap().meta;
    assert_eq!((meta.step, meta.lr_factor), (60, 0.5));
    assert!(weights_finite(&ck));
    // the report says so
    ok(&["report", run.to_str().unwrap()]);
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("rolled-back"));

    // a divergence that every lower rate repeats ends after max_rollbacks
    let run = tmp.path().join("hopeless");
    let err = fails(
        &toy_args(
            &run,
            "60",
            &[
                "--set",
                "train.on_divergence=rollback",
                "--set",
                "train.lr_d=1e30",
                "--set",
                "train.lr_g=1e30",
            ],
        )
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
    );
    assert!(
        err.contains("after 3 rollbacks") && err.contains("iteration 0"),
        "{err}"
    );
    assert_eq!(lines(&run.join("rollbacks.jsonl")).len(), 3);
    // the key is checked
    let err = fails(&["train", "--set", "train.on_divergence=retry"]);
    assert!(err.contains("train.on_divergence"), "{err}");
}

#[test]
fn a_full_disk_during_a_checkpoint_keeps_the_previous_one() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let args = toy_args(&run, "20", &[]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let ck = run.join("checkpoint.safetensors");
    let before = std::fs::read(&ck).unwrap();
    assert!(before.len() > 16 << 10, "checkpoint too small for the test");
    // the kernel refuses writes past 16 KiB per file (RLIMIT_FSIZE, EFBIG), as a full disk
    // refuses them: the next checkpoint cannot be written
    let out = unsafe {
        Command::new(env!("CARGO_BIN_EXE_gan"))
            .args([
                "train",
                "--resume",
                run.to_str().unwrap(),
                "--steps",
                "40",
                "--quiet",
            ])
            .pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: 16 << 10,
                    rlim_max: 16 << 10,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
            .output()
            .unwrap()
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "wrote a checkpoint past the limit");
    assert!(
        err.contains("checkpoint.safetensors") && err.contains("previous version left intact"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&ck).unwrap(),
        before,
        "the old checkpoint changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // with room again, the run goes on from iteration 20
    ok(&["train", "--resume", run.to_str().unwrap(), "--quiet"]);
    assert_eq!(checkpoint::load(&ck).unwrap().meta.step, 40);
    assert_eq!(steps_logged(&run), (1..=40).collect::<Vec<_>>());
}

#[test]
fn the_same_config_and_seed_give_the_same_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for run in [&a, &b] {
        let args = toy_args(run, "300", &["--set", "train.sample_every=100"]);
        ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let strip = |run: &Path| -> Vec<Value> {
        lines(&run.join("metrics.jsonl"))
            .into_iter()
            .map(|mut l| {
                l.as_object_mut().unwrap().remove("time_s");
                l
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(
        std::fs::read_to_string(a.join("modes.jsonl")).unwrap(),
        std::fs::read_to_string(b.join("modes.jsonl")).unwrap()
    );
    for f in ["samples/step-000100.png", "samples/final.png"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let (ca, cb) = (
        checkpoint::load(&a.join("checkpoint.safetensors")).unwrap(),
        checkpoint::load(&b.join("checkpoint.safetensors")).unwrap(),
    );
    assert_eq!(ca.tensors.len(), cb.tensors.len());
    for (k, t) in &ca.tensors {
        assert!(t.equal(&cb.tensors[k]), "tensor {k} differs");
    }
    // samples drawn from the two checkpoints are the same images
    for run in [&a, &b] {
        ok(&[
            "sample",
            run.to_str().unwrap(),
            "--n",
            "16",
            "--grid",
            run.join("drawn.png").to_str().unwrap(),
        ]);
    }
    assert_eq!(
        std::fs::read(a.join("drawn.png")).unwrap(),
        std::fs::read(b.join("drawn.png")).unwrap()
    );
}

/// Runs `gan` and returns whether it succeeded, its stderr and its peak resident memory.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its memory
fn run_measuring_memory(args: &[&str]) -> (bool, String, u64) {
    let child = Command::new(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // wait4 gives this child's own peak RSS (KiB on Linux)
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (ok, err, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn a_streamed_image_folder_keeps_memory_bounded_and_trains_the_same() {
    // 4,000 RGB images of 128² (187 MiB decoded) in two class folders; streaming must save
    // at least half of that. The streamed peak varies by about 20 MiB from run to run, and
    // 2,000 images left too thin a margin (on a Zen 5 EPYC it saved 60–75 MiB of 94 and failed
    // once). Measured there with 4,000: 408–429 MiB peak in memory, 244–262 MiB streamed.
    const IMAGES: u32 = 4000;
    let decoded_mib = (IMAGES as u64 * 128 * 128 * 3) >> 20;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("images");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..IMAGES {
        let dir = root.join(if i % 2 == 0 { "even" } else { "odd" });
        std::fs::create_dir_all(&dir).unwrap();
        let img = image::RgbImage::from_fn(128, 128, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        });
        img.save(dir.join(format!("{i:05}.png"))).unwrap();
    }
    let mut peaks = Vec::new();
    let mut logs = Vec::new();
    for stream in ["false", "true"] {
        let out = tmp.path().join(format!("stream-{stream}"));
        let stream_key = format!("data.stream={stream}");
        let args = [
            "train",
            common::CLASSIC[0],
            common::CLASSIC[1],
            "--dataset",
            "folder",
            "--data",
            root.to_str().unwrap(),
            "--steps",
            "10",
            "--set",
            "model.arch=mlp",
            "--set",
            "model.resolution=128",
            "--set",
            "model.channels=3",
            "--set",
            "model.g_hidden=[16]",
            "--set",
            "model.d_hidden=[16]",
            "--set",
            "train.batch_size=16",
            "--set",
            "train.log_every=1",
            "--set",
            "threads=1",
            "--set",
            &stream_key,
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        let (ok, err, peak) = run_measuring_memory(&args);
        assert!(ok, "{err}");
        peaks.push(peak);
        let lines: Vec<Value> = lines(&out.join("metrics.jsonl"))
            .into_iter()
            .map(|mut l| {
                l.as_object_mut().unwrap().remove("time_s");
                l
            })
            .collect();
        logs.push(lines);
    }
    // the same batches, decoded the same way: the same run
    assert_eq!(logs[0], logs[1]);
    let (memory, streamed) = (peaks[0] >> 20, peaks[1] >> 20);
    eprintln!("peak RSS: in memory {memory} MiB, streamed {streamed} MiB");
    assert!(
        streamed + decoded_mib / 2 < memory,
        "streaming saved too little: {streamed} MiB against {memory} MiB ({decoded_mib} MiB decoded)"
    );
}

/// `gan train --fork`: from a checkpoint taken before a later learning-rate decay starts,
/// the fork is the run the decayed config trains from scratch (every tensor, every logged
/// loss); a checkpoint after the decay starts, or a key that acts earlier, is refused by
/// name, and nothing is written.
#[test]
fn a_fork_before_a_later_decay_is_the_decayed_run() {
    let dir = tempfile::tempdir().unwrap();
    let (parent, fork, scratch) = (
        dir.path().join("parent"),
        dir.path().join("fork"),
        dir.path().join("scratch"),
    );
    let common = [
        "--steps",
        "12",
        "--set",
        "train.log_every=1",
        "--set",
        "model.g_norm=\"batch\"",
        "--set",
        "train.ema=true",
    ];
    let kept = [
        "--set",
        "train.checkpoint_every=4",
        "--set",
        "train.keep_checkpoints=3",
    ];
    common::train(&parent, &[&common[..], &kept[..]].concat());
    // × 1 through iteration 7 of 12, then linearly to 0; the bookkeeping keys may change too
    let decayed = [
        "--set",
        "train.lr_schedule=\"constant-then-linear\"",
        "--set",
        "train.ema_standing_stats=2",
        "--set",
        "train.checkpoint_every=5",
    ];
    common::train(&scratch, &[&common[..], &decayed[..]].concat());
    let at = |step: u32| {
        parent
            .join(format!("checkpoints/step-{step:06}.safetensors"))
            .display()
            .to_string()
    };
    let fork_args = |from: &str, out: &Path, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["train", "--fork", from, "--quiet", "--out"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(out.display().to_string());
        a.extend(decayed.iter().chain(extra).map(|s| s.to_string()));
        a
    };
    let args = fork_args(&at(4), &fork, &[]);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let latest = |run: &Path| run.join("checkpoint.safetensors");
    common::assert_same_checkpoint(&latest(&fork), &latest(&scratch));
    assert_eq!(common::curves(&fork), common::curves(&scratch));
    let origin: Value =
        serde_json::from_str(&std::fs::read_to_string(fork.join("fork.json")).unwrap()).unwrap();
    assert_eq!(origin["step"], 4);
    assert_eq!(origin["parent"].as_str().unwrap(), parent.to_str().unwrap());

    let refused = dir.path().join("refused");
    for (from, extra, named) in [
        (at(8), vec![], "iteration 8"),
        (at(4), vec!["--set", "train.lr_g=0.001"], "`train.lr_g`"),
        (at(4), vec!["--seed", "9"], "`seed`"),
    ] {
        let args = fork_args(&from, &refused, &extra);
        let e = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(e.contains(named) && e.contains(&from), "{e}");
        assert!(
            !refused.exists(),
            "a refused fork wrote {}",
            refused.display()
        );
    }
}
