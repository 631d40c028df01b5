//! Data-parallel training under Open MPI's `mpirun -np 2` on loopback: two processes, each
//! training on half of every global minibatch with averaged gradients, train the same model
//! as one process on the whole batch.

mod common;

use adversarial::checkpoint;
use common::{gan, metrics, ok};
use std::path::Path;
use std::process::{Command, Output};

/// Runs `mpirun -np 2 gan ARGS`.
fn mpirun2(args: &[&str]) -> Output {
    Command::new("mpirun")
        .args(["-np", "2", "--oversubscribe", "--bind-to", "none"])
        .arg(env!("CARGO_BIN_EXE_gan"))
        .args(args)
        // the test may run as root (CI containers); Open MPI refuses that unless told
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("mpirun runs (scripts/setup-mpi.sh installs Debian's openmpi-bin)")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// No BatchNorm (its statistics are per process), real digits, 30 iterations.
const COMMON: &[&str] = &[
    common::CLASSIC[0],
    common::CLASSIC[1],
    "--set",
    "model.arch=mlp",
    "--set",
    "model.resolution=28",
    "--set",
    "model.g_hidden=[64,64]",
    "--set",
    "model.d_hidden=[64]",
    "--set",
    "data.limit=512",
    "--set",
    "train.batch_size=16",
    "--set",
    "train.log_every=1",
    "--set",
    "threads=1",
    "--set",
    "train.ema=true",
];

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn two_processes_train_like_one_process_with_the_summed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    let args = |out: &Path| -> Vec<String> {
        let mut a: Vec<String> = ["train", "--out", out.to_str().unwrap(), "--steps", "30"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(COMMON.iter().map(|s| s.to_string()));
        a
    };
    let a1 = args(&one);
    ok(&a1.iter().map(String::as_str).collect::<Vec<_>>());
    let a2 = args(&two);
    let out = mpirun2(&a2.iter().map(String::as_str).collect::<Vec<_>>());
    let log = text(&out);
    assert!(out.status.success(), "mpirun -np 2 failed:\n{log}");
    assert!(
        log.contains("2 processes × 8 samples"),
        "no data-parallel banner:\n{log}"
    );
    // process 1 reports nothing: one summary line
    assert_eq!(log.matches("done: 30 iterations").count(), 1, "{log}");

    // the same losses at every iteration, to float rounding (sums in another order)
    let (m1, m2) = (metrics(&one), metrics(&two));
    assert_eq!(m1.len(), 30);
    assert_eq!(m1.len(), m2.len());
    for (a, b) in m1.iter().zip(&m2) {
        for k in ["d_loss", "g_loss", "d_real", "d_fake"] {
            let (x, y) = (a[k].as_f64().unwrap(), b[k].as_f64().unwrap());
            assert!(close(x, y, 1e-3), "step {}: {k} {x} vs {y}", a["step"]);
        }
    }
    // and the same weights, optimizer state and EMA at the end
    let (c1, c2) = (
        checkpoint::load(&one.join("checkpoint.safetensors")).unwrap(),
        checkpoint::load(&two.join("checkpoint.safetensors")).unwrap(),
    );
    assert_eq!(c1.meta.step, 30);
    assert_eq!(c2.meta.step, 30);
    assert_eq!(c1.meta.batcher, c2.meta.batcher);
    assert_eq!(c1.tensors.len(), c2.tensors.len());
    for (k, t) in &c1.tensors {
        let u = &c2.tensors[k];
        let diff = (t - u).abs().max().double_value(&[]);
        let scale = t.abs().max().double_value(&[]).max(1e-3);
        assert!(
            diff <= 1e-3 * scale,
            "tensor {k}: max |diff| {diff} (scale {scale})"
        );
    }
    // a summed-batch run is not what a lone half-batch run gives: the test can fail
    let half = dir.path().join("half");
    let mut a3 = args(&half);
    a3.extend(["--set".into(), "train.batch_size=8".into()]);
    ok(&a3.iter().map(String::as_str).collect::<Vec<_>>());
    let m3 = metrics(&half);
    assert!(m3.iter().zip(&m2).any(|(a, b)| !close(
        a["d_loss"].as_f64().unwrap(),
        b["d_loss"].as_f64().unwrap(),
        1e-3
    )));

    // the two-process run resumes (both processes load process 0's checkpoint)
    let out = mpirun2(&[
        "train",
        "--resume",
        two.to_str().unwrap(),
        "--steps",
        "40",
        "--quiet",
    ]);
    assert!(out.status.success(), "resume failed:\n{}", text(&out));
    assert_eq!(metrics(&two).len(), 40);
}

#[test]
fn data_parallel_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    let mut a: Vec<&str> = vec!["train", "--out", run.to_str().unwrap(), "--steps", "5"];
    a.extend(COMMON);
    a.extend(["--set", "train.batch_size=15"]);
    let out = mpirun2(&a);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(
        log.contains("train.batch_size") && log.contains("2 equal shares"),
        "{log}"
    );
    // sequence GANs train in one process: refused, not run twice into one directory
    let text_run = dir.path().join("t");
    let out = mpirun2(&["text", "train", "--out", text_run.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("runs in one process"), "{}", text(&out));
    assert!(!text_run.exists());
    // a single process is not data-parallel and takes the same batch
    let out = gan(&a);
    assert!(out.status.success(), "{}", text(&out));
}
