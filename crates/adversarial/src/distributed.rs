//! Data-parallel training over several processes, with gradients all-reduced through MPI.
//!
//! `mpirun -np N gan train …` starts N copies of the same command. Each process builds the
//! same models from the same seed and draws the same global minibatch of
//! `train.batch_size` samples (and the same noise), then keeps only its own 1/N of the
//! rows. Before every optimizer step the gradients are averaged over the processes, so all
//! copies take the same step: the mean over the global batch, exactly as one process
//! training on the whole batch would, up to the order of floating-point sums. BatchNorm
//! statistics are per process (as in PyTorch's DDP without SyncBatchNorm). Process 0 writes
//! the run directory; the others only compute.
//!
//! Open MPI's library is opened at run time (`libmpi.so.40`, Debian's `libopenmpi3`), so
//! building `gan` needs no MPI, and a single-process run never touches it. Gradients travel
//! through host memory (no NCCL here).

use anyhow::{anyhow, bail, Context, Result};
use libc::{c_char, c_int, c_void};
use std::sync::OnceLock;
use tch::{Kind, Tensor};

type AllreduceFn =
    unsafe extern "C" fn(*const c_void, *mut c_void, c_int, Handle, Handle, Handle) -> c_int;

/// An Open MPI handle: the address of one of its predefined objects.
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Handle(*mut c_void);

/// Open MPI's `MPI_IN_PLACE`.
const IN_PLACE: *const c_void = std::ptr::without_provenance(1);

struct Api {
    allreduce: AllreduceFn,
    finalize: unsafe extern "C" fn() -> c_int,
    world: Handle,
    float: Handle,
    double: Handle,
    sum: Handle,
}

/// The processes of one data-parallel run (MPI_COMM_WORLD).
pub struct Comm {
    rank: usize,
    size: usize,
    api: Api,
}

// SAFETY: the handles point at Open MPI's immutable predefined objects; calls are made
// from the training thread only (MPI_Init's default thread level).
unsafe impl Send for Comm {}
unsafe impl Sync for Comm {}

static WORLD: OnceLock<Option<Comm>> = OnceLock::new();

/// The data-parallel group this process belongs to, when it was started by `mpirun` with
/// more than one process; `None` otherwise. MPI is initialised on the first call.
pub fn world() -> Result<Option<&'static Comm>> {
    if let Some(w) = WORLD.get() {
        return Ok(w.as_ref());
    }
    let comm = init()?;
    Ok(WORLD.get_or_init(|| comm).as_ref())
}

/// Whether this process is the one that writes and reports (process 0, or the only one).
pub fn is_main() -> Result<bool> {
    Ok(world()?.is_none_or(|c| c.rank() == 0))
}

/// Whether an MPI launcher started this command as one of several processes (without
/// initialising MPI): for commands that must run alone.
pub fn refuse_launcher(what: &str) -> Result<()> {
    if let Some(n) = launched_size()? {
        bail!("{what} runs in one process, but mpirun started {n}: data-parallel training covers `gan train` of image GANs");
    }
    Ok(())
}

/// This process's index among the data-parallel processes on its machine, when Open MPI's
/// mpirun started several.
pub fn local_rank() -> Option<usize> {
    let size: usize = std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE")
        .ok()?
        .parse()
        .ok()?;
    let rank: usize = std::env::var("OMPI_COMM_WORLD_LOCAL_RANK")
        .ok()?
        .parse()
        .ok()?;
    (size > 1).then_some(rank)
}

fn launched_size() -> Result<Option<usize>> {
    if let Ok(v) = std::env::var("OMPI_COMM_WORLD_SIZE") {
        let n: usize = v
            .parse()
            .map_err(|_| anyhow!("OMPI_COMM_WORLD_SIZE={v:?} is not a process count"))?;
        return Ok((n > 1).then_some(n));
    }
    for other in ["PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"] {
        if std::env::var(other).is_ok_and(|v| v.parse::<usize>().is_ok_and(|n| n > 1)) {
            bail!("started by an MPI launcher other than Open MPI's mpirun ({other} is set): data-parallel training loads Open MPI's libmpi.so.40");
        }
    }
    Ok(None)
}

fn init() -> Result<Option<Comm>> {
    let Some(expected) = launched_size()? else {
        return Ok(None);
    };
    let api = load().context(
        "data-parallel training needs Open MPI's runtime (Debian: apt-get install openmpi-bin)",
    )?;
    // SAFETY: MPI_Init with no arguments, once per process (guarded by WORLD).
    let (rank, size) = unsafe {
        let lib_init: unsafe extern "C" fn(*mut c_int, *mut *mut *mut c_char) -> c_int =
            std::mem::transmute(sym("MPI_Init")?);
        check(
            lib_init(std::ptr::null_mut(), std::ptr::null_mut()),
            "MPI_Init",
        )?;
        let comm_rank: unsafe extern "C" fn(Handle, *mut c_int) -> c_int =
            std::mem::transmute(sym("MPI_Comm_rank")?);
        let comm_size: unsafe extern "C" fn(Handle, *mut c_int) -> c_int =
            std::mem::transmute(sym("MPI_Comm_size")?);
        let (mut r, mut s) = (0, 0);
        check(comm_rank(api.world, &mut r), "MPI_Comm_rank")?;
        check(comm_size(api.world, &mut s), "MPI_Comm_size")?;
        (r as usize, s as usize)
    };
    if size != expected {
        bail!("MPI reports {size} processes but OMPI_COMM_WORLD_SIZE says {expected}");
    }
    Ok(Some(Comm { rank, size, api }))
}

fn handle() -> *mut c_void {
    static LIB: OnceLock<usize> = OnceLock::new();
    *LIB.get_or_init(|| {
        let name = c"libmpi.so.40";
        // SAFETY: plain dlopen; RTLD_GLOBAL because Open MPI's plugins resolve its symbols.
        unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) as usize }
    }) as *mut c_void
}

fn sym(name: &str) -> Result<*mut c_void> {
    let lib = handle();
    if lib.is_null() {
        // SAFETY: dlerror returns a thread-local message or null.
        let why = unsafe {
            let e = libc::dlerror();
            if e.is_null() {
                "not found".to_string()
            } else {
                std::ffi::CStr::from_ptr(e).to_string_lossy().into_owned()
            }
        };
        bail!("cannot open libmpi.so.40: {why}");
    }
    let c = std::ffi::CString::new(name).expect("symbol names have no NUL");
    // SAFETY: dlsym on a live handle.
    let p = unsafe { libc::dlsym(lib, c.as_ptr()) };
    if p.is_null() {
        bail!("libmpi.so.40 has no symbol {name}: is it Open MPI?");
    }
    Ok(p)
}

fn load() -> Result<Api> {
    // SAFETY: the symbols have these C signatures in Open MPI 4/5.
    unsafe {
        Ok(Api {
            allreduce: std::mem::transmute::<*mut c_void, AllreduceFn>(sym("MPI_Allreduce")?),
            finalize: std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> c_int>(sym(
                "MPI_Finalize",
            )?),
            world: Handle(sym("ompi_mpi_comm_world")?),
            float: Handle(sym("ompi_mpi_float")?),
            double: Handle(sym("ompi_mpi_double")?),
            sum: Handle(sym("ompi_mpi_op_sum")?),
        })
    }
}

fn check(rc: c_int, what: &str) -> Result<()> {
    if rc != 0 {
        bail!("{what} failed with MPI error code {rc}");
    }
    Ok(())
}

impl Comm {
    /// This process's index, 0..size.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Sums `values` over all processes, in place.
    pub fn sum_f64(&self, values: &mut [f64]) -> Result<()> {
        // SAFETY: a live buffer of values.len() doubles, reduced in place.
        let rc = unsafe {
            (self.api.allreduce)(
                IN_PLACE,
                values.as_mut_ptr().cast(),
                values.len() as c_int,
                self.api.double,
                self.api.sum,
                self.api.world,
            )
        };
        check(rc, "MPI_Allreduce")
    }

    /// Replaces each tensor by its mean over all processes (one message for all of them).
    pub fn mean_tensors(&self, tensors: &[Tensor]) -> Result<()> {
        if tensors.is_empty() {
            return Ok(());
        }
        let device = tensors[0].device();
        let flat = tch::no_grad(|| {
            Tensor::cat(
                &tensors
                    .iter()
                    .map(|t| t.to_kind(Kind::Float).reshape([-1]))
                    .collect::<Vec<_>>(),
                0,
            )
            .to_device(tch::Device::Cpu)
            .contiguous()
        });
        let n = flat.numel();
        if n > c_int::MAX as usize {
            bail!("{n} gradient values are more than one MPI message holds");
        }
        // SAFETY: `flat` is a contiguous CPU float32 tensor of n elements that we own.
        let rc = unsafe {
            (self.api.allreduce)(
                IN_PLACE,
                flat.data_ptr(),
                n as c_int,
                self.api.float,
                self.api.sum,
                self.api.world,
            )
        };
        check(rc, "MPI_Allreduce")?;
        let mean = (flat / self.size as f64).to_device(device);
        tch::no_grad(|| {
            let mut at = 0;
            for t in tensors {
                let k = t.numel() as i64;
                let mut dst = t.shallow_clone();
                dst.copy_(&mean.narrow(0, at, k).view_as(t).to_kind(t.kind()));
                at += k;
            }
        });
        Ok(())
    }

    /// Fails unless every process holds the same `values` (config, weights): processes that
    /// disagree would silently train different models.
    pub fn check_same(&self, what: &str, values: &[f64]) -> Result<()> {
        let mut sums = values.to_vec();
        self.sum_f64(&mut sums)?;
        let n = self.size as f64;
        for (v, s) in values.iter().zip(&sums) {
            if (v * n - s).abs() > 1e-9 * s.abs().max(1.0) {
                bail!("process {} of {}: its {what} differs from the other processes' (start every process with the same command)", self.rank, self.size);
            }
        }
        Ok(())
    }

    /// Ends MPI for this process; call once, after the last collective operation.
    pub fn finalize(&self) -> Result<()> {
        // SAFETY: MPI was initialised by `world()`.
        check(unsafe { (self.api.finalize)() }, "MPI_Finalize")
    }
}
