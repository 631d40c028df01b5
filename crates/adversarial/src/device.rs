//! Device selection and libtorch thread settings.

use anyhow::{bail, Result};
use tch::Device;

/// Parses `cpu`, `cuda` or `cuda:N`. For CUDA, loads libtorch's CUDA library first: the
/// linker drops it from the binary when no symbol of it is referenced, and without it
/// libtorch reports no GPU.
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        _ if name == "cuda" || name.starts_with("cuda:") => {
            let index: usize = match name.strip_prefix("cuda:") {
                Some(i) => i
                    .parse()
                    .map_err(|_| anyhow::anyhow!("bad CUDA device index in {name:?}"))?,
                None => 0,
            };
            // as early as possible: libtorch answers "no GPU" for good once it has been
            // asked before its CUDA library was loaded
            load_cuda_library();
            if name == "cuda" {
                // data-parallel processes on one machine take one GPU each, in turn
                if let Some(local) = crate::distributed::local_rank() {
                    let n = tch::Cuda::device_count().max(1) as usize;
                    return Ok(Device::Cuda(local % n));
                }
            }
            Ok(Device::Cuda(index))
        }
        _ => bail!("unknown device {name:?}, expected cpu, cuda or cuda:N"),
    }
}

/// Makes sure the device can be used, with a clear error when it cannot.
pub fn check_device(device: Device) -> Result<()> {
    if let Device::Cuda(i) = device {
        load_cuda_library();
        let n = tch::Cuda::device_count() as usize;
        if n == 0 {
            bail!("device cuda:{i} requested but libtorch sees no CUDA GPU on this machine: use --device cpu (or set device = \"cpu\")");
        }
        if i >= n {
            bail!("device cuda:{i} requested but only {n} CUDA GPU(s) are visible");
        }
    }
    Ok(())
}

fn load_cuda_library() {
    // dlopen resolves the bare name through the executable's rpath (set by build/rpath.rs).
    for name in [c"libtorch_cuda.so"] {
        // SAFETY: plain dlopen of a shared library; the handle is kept for the process life.
        unsafe {
            libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
        }
    }
}

/// Whether this CPU computes in bfloat16 in hardware: AVX-512 BF16 on x86-64 (every CPU with
/// AMX has it as well), the BF16 extension on AArch64. Without it libtorch emulates bfloat16
/// through float32, and the bfloat16 options run slower instead of faster: our Inception
/// network at an eighth of its float32 speed on a Zen 3 (docs/results/fid-speed.md).
pub fn cpu_has_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512bf16");
    #[cfg(target_arch = "aarch64")]
    return std::arch::is_aarch64_feature_detected!("bf16");
    #[allow(unreachable_code)]
    false
}

/// A warning when `what` would run in bfloat16 on a CPU that only emulates it; `None` on a
/// GPU or where the CPU has bfloat16 instructions. Where it has them, whether bfloat16 pays
/// still depends on the CPU (2.0× float32 on a Zen 5, slower on a Xeon without AMX), so only
/// the certain case is flagged.
pub fn bf16_emulated(device: Device, what: &str) -> Option<String> {
    (device == Device::Cpu && !cpu_has_bf16()).then(|| {
        format!(
            "{what} runs in bfloat16, but this CPU has no bfloat16 instructions (AVX-512 BF16 \
             or AMX): libtorch emulates them, which is several times slower than float32; \
             float32 is the faster choice here"
        )
    })
}

/// Makes glibc's malloc keep freed memory for reuse instead of handing it back to the
/// kernel: blocks up to 32 MiB come from the heap (not from fresh `mmap`s) and the heap is
/// not trimmed below 1 GiB. libtorch frees and reallocates every activation on every step;
/// with glibc's defaults those megabyte buffers come back as fresh zeroed pages each time,
/// about 4,000 page faults per DCGAN iteration, and this setting makes training about 8%
/// faster (docs/results/speed-cpu.md). It changes process-wide state, so the `gan` binary
/// calls it at start and the library never does by itself. A user who set
/// `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` keeps their own settings.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let user_set = ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
            .iter()
            .any(|k| std::env::var_os(k).is_some());
        if !user_set {
            // SAFETY: mallopt only changes allocator thresholds; called before any threads
            // of ours exist.
            unsafe {
                // 32 MiB is the largest threshold glibc accepts
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
            }
        }
    }
}

/// Applies a thread count (0 keeps libtorch's default).
pub fn set_threads(threads: usize) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
    }
}

/// Runs `f`, turning a panic raised inside tch (libtorch errors such as a failed allocation
/// surface that way) into an error that starts with `what` and gives libtorch's reason.
pub fn catch_torch<T>(what: &str, f: impl FnOnce() -> T) -> anyhow::Result<T> {
    // the hook would print the panic and libtorch's whole C++ trace first; it is silenced
    // for this thread only, so a panic on another thread still prints
    install_quiet_hook();
    QUIET.with(|q| q.set(q.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(q.get() - 1));
    r.map_err(|payload| {
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "libtorch failed".into());
        anyhow::anyhow!("{what}: {}", torch_reason(&text))
    })
}

thread_local! {
    /// How many `catch_torch` calls this thread is inside.
    static QUIET: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Wraps the panic hook, once per process, so that it stays silent on a thread inside
/// `catch_torch`. Swapping the global hook per call instead would race: two threads could
/// each restore the other's silent hook and leave it installed for good.
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // try_with: a panic while the thread's locals are being torn down still prints
            if QUIET.try_with(|q| q.get()).unwrap_or(0) == 0 {
                previous(info);
            }
        }));
    });
}

/// The useful sentence of a libtorch error: without the Rust unwrap wrapper, the
/// `[enforce fail at …]` prefix and the C++ stack.
fn torch_reason(text: &str) -> String {
    let t = text.split_once("Torch(\"").map_or(text, |(_, rest)| rest);
    let t = t.split("\\n").next().unwrap_or(t);
    let t = t.split('\n').next().unwrap_or(t);
    let t = match t.find("] ") {
        Some(i) if t.starts_with("[enforce") => &t[i + 2..],
        _ => t,
    };
    t.trim_start_matches("err == 0. ").trim().to_string()
}

#[cfg(test)]
mod tests {
    /// The detection agrees with the kernel's flags (Linux, x86-64).
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn bf16_detection_matches_cpuinfo() {
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let flags = info.lines().find(|l| l.starts_with("flags")).unwrap();
        let listed = flags.split_whitespace().any(|f| f == "avx512_bf16");
        assert_eq!(super::cpu_has_bf16(), listed);
        let warning = super::bf16_emulated(tch::Device::Cpu, "x");
        assert_eq!(warning.is_some(), !listed);
        assert!(super::bf16_emulated(tch::Device::Cuda(0), "x").is_none());
    }

    #[test]
    fn torch_errors_become_one_sentence() {
        let raw = "called `Result::unwrap()` on an `Err` value: Torch(\"[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate 400000000000 bytes. Error code 12 (Cannot allocate memory)\\nframe #0: c10::ThrowEnforceNotMet\")";
        assert_eq!(
            super::torch_reason(raw),
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 400000000000 bytes. Error code 12 (Cannot allocate memory)"
        );
        let e = super::catch_torch("building", || -> u32 { panic!("plain") }).unwrap_err();
        assert_eq!(format!("{e}"), "building: plain");
    }
}
