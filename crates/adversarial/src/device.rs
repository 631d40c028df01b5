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
            bail!("device cuda:{i} requested but libtorch sees no CUDA GPU on this machine");
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

/// Applies a thread count (0 keeps libtorch's default).
pub fn set_threads(threads: usize) {
    if threads > 0 {
        tch::set_num_threads(threads as i32);
    }
}
