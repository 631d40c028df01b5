//! Safe wrappers over the native helpers in `csrc/ops.cpp`.

use anyhow::{anyhow, Result};
use tch::Tensor;
use torch_sys::C_tensor;

extern "C" {
    fn adv_last_error() -> *const libc::c_char;
    fn adv_leaky_relu(x: *mut C_tensor, slope: f64) -> *mut C_tensor;
    fn adv_leaky_relu_(x: *mut C_tensor, slope: f64) -> *mut C_tensor;
    fn adv_fused_adam(
        params: *const *mut C_tensor,
        grads: *const *mut C_tensor,
        exp_avg: *const *mut C_tensor,
        exp_avg_sq: *const *mut C_tensor,
        steps: *const *mut C_tensor,
        n: libc::c_int,
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
        weight_decay: f64,
    ) -> libc::c_int;
    fn adv_grads_to_none(params: *const *mut C_tensor, n: libc::c_int) -> libc::c_int;
    fn adv_autocast_enter(cuda: libc::c_int) -> libc::c_int;
    fn adv_autocast_exit(cuda: libc::c_int, prev: libc::c_int) -> libc::c_int;
    fn adv_channels_last(x: *mut C_tensor) -> *mut C_tensor;
    fn adv_profiler_start() -> libc::c_int;
    fn adv_profiler_stop(trace_path: *const libc::c_char) -> *mut libc::c_char;
}

fn last_error() -> anyhow::Error {
    // SAFETY: the C side returns a pointer to a thread-local NUL-terminated string.
    let msg = unsafe { std::ffi::CStr::from_ptr(adv_last_error()) };
    anyhow!("libtorch: {}", msg.to_string_lossy())
}

fn ptrs(ts: &[&Tensor]) -> Vec<*mut C_tensor> {
    ts.iter().map(|t| t.as_ptr() as *mut C_tensor).collect()
}

/// Takes ownership of a tensor the C side returned, panicking with libtorch's error when it
/// returned none (tch surfaces libtorch errors as panics too).
fn owned(out: *mut C_tensor) -> Tensor {
    if out.is_null() {
        panic!("{}", last_error());
    }
    // SAFETY: a non-null result is a new heap tensor handle that nothing else owns.
    unsafe { Tensor::from_ptr(out) }
}

/// LeakyReLU with the given negative slope (differentiable).
pub fn leaky_relu(x: &Tensor, slope: f64) -> Tensor {
    // SAFETY: x is a live tensor.
    owned(unsafe { adv_leaky_relu(x.as_ptr() as *mut C_tensor, slope) })
}

/// LeakyReLU in place on `x`, returning `x` (differentiable when `slope >= 0`: autograd
/// recovers the input's sign from the result). Only for tensors nothing else reads.
pub fn leaky_relu_(x: &Tensor, slope: f64) -> Tensor {
    // SAFETY: x is a live tensor; the result shares its storage.
    owned(unsafe { adv_leaky_relu_(x.as_ptr() as *mut C_tensor, slope) })
}

/// Hyper-parameters of one Adam update.
#[derive(Debug, Clone, Copy)]
pub struct AdamHyper {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// Fused Adam step in place over all tensors (all slices the same length; `steps` are
/// float32 scalars and are incremented).
pub fn fused_adam(
    params: &[&Tensor],
    grads: &[&Tensor],
    m: &[&Tensor],
    v: &[&Tensor],
    steps: &[&Tensor],
    h: AdamHyper,
) -> Result<()> {
    let n = params.len();
    assert!(grads.len() == n && m.len() == n && v.len() == n && steps.len() == n);
    let (p, g, m, v, s) = (ptrs(params), ptrs(grads), ptrs(m), ptrs(v), ptrs(steps));
    // SAFETY: all pointers are live tensors for the duration of the call.
    let rc = unsafe {
        adv_fused_adam(
            p.as_ptr(),
            g.as_ptr(),
            m.as_ptr(),
            v.as_ptr(),
            s.as_ptr(),
            n as i32,
            h.lr,
            h.beta1,
            h.beta2,
            h.eps,
            h.weight_decay,
        )
    };
    if rc != 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Drops the gradients of `params` (zero_grad with set_to_none).
pub fn grads_to_none(params: &[&Tensor]) {
    let p = ptrs(params);
    // SAFETY: live tensors; resetting a grad cannot fail short of a broken tensor.
    let rc = unsafe { adv_grads_to_none(p.as_ptr(), p.len() as i32) };
    if rc != 0 {
        panic!("{}", last_error());
    }
}

/// A bfloat16 autocast region on one device type, left when dropped: inside it, matmuls and
/// convolutions run in bfloat16 while reductions and losses stay in float32, as under
/// PyTorch's `torch.autocast(device, dtype=torch.bfloat16)`. Regions nest.
pub struct AutocastGuard {
    cuda: libc::c_int,
    prev: libc::c_int,
}

impl AutocastGuard {
    /// Enters bfloat16 autocast for `device`'s type (CPU or CUDA).
    pub fn bf16(device: tch::Device) -> AutocastGuard {
        let cuda = matches!(device, tch::Device::Cuda(_)) as libc::c_int;
        // SAFETY: plain calls into libtorch's thread-local autocast state.
        let prev = unsafe { adv_autocast_enter(cuda) };
        if prev < 0 {
            panic!("{}", last_error());
        }
        AutocastGuard { cuda, prev }
    }
}

impl Drop for AutocastGuard {
    fn drop(&mut self) {
        // SAFETY: as above; restores the state saved on entry.
        let rc = unsafe { adv_autocast_exit(self.cuda, self.prev) };
        if rc != 0 {
            panic!("{}", last_error());
        }
    }
}

/// `x` (N×C×H×W) in channels-last memory format with exactly its strides: `x` itself
/// when it has them, else a copy that autograd differentiates through.
pub fn channels_last(x: &Tensor) -> Tensor {
    // SAFETY: x is a live tensor; the result is a new tensor we own.
    owned(unsafe { adv_channels_last(x.as_ptr() as *mut C_tensor) })
}

/// Starts libtorch's operator profiler on the CPU, recording input shapes.
pub fn profiler_start() -> Result<()> {
    // SAFETY: a plain call; libtorch reports a profiler already running as an error.
    if unsafe { adv_profiler_start() } != 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Stops the profiler, writing a Chrome trace to `trace` when given, and returns its
/// events as text (see `csrc/ops.cpp`).
pub fn profiler_stop(trace: Option<&std::path::Path>) -> Result<String> {
    let path = trace
        .map(|p| std::ffi::CString::new(p.to_string_lossy().as_bytes()))
        .transpose()?;
    let ptr = path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr());
    // SAFETY: ptr is null or a live NUL-terminated string; the result is malloc'ed text
    // that we copy and free.
    let text = unsafe { adv_profiler_stop(ptr) };
    if text.is_null() {
        return Err(last_error());
    }
    let out = unsafe { std::ffi::CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    unsafe { libc::free(text as *mut libc::c_void) };
    Ok(out)
}
