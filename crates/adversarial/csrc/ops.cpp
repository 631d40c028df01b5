// Native helpers for ATen operations that tch does not expose with the arguments we need.
// Each function returns null / non-zero on failure and leaves the message for
// adv_last_error(), so no C++ exception crosses into Rust.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <string>
#include <vector>

static thread_local std::string last_error;

#define GUARD(fail, ...)                    \
  try {                                     \
    __VA_ARGS__                             \
  } catch (const std::exception &e) {       \
    last_error = e.what();                  \
    return fail;                            \
  }

static std::vector<at::Tensor> list(at::Tensor **ts, int n) {
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (int i = 0; i < n; i++) out.push_back(*ts[i]);
  return out;
}

extern "C" {

const char *adv_last_error() { return last_error.c_str(); }

// LeakyReLU with a chosen slope (tch only binds the default 0.01).
at::Tensor *adv_leaky_relu(at::Tensor *x, double slope) {
  GUARD(nullptr, return new at::Tensor(at::leaky_relu(*x, slope));)
}

// The same in place on x (autograd saves the result, which needs slope >= 0).
at::Tensor *adv_leaky_relu_(at::Tensor *x, double slope) {
  GUARD(nullptr, return new at::Tensor(at::leaky_relu_(*x, slope));)
}

// One Adam step over all parameters in a single fused kernel (PyTorch's fused=True path,
// available on CPU and CUDA). steps are float32 scalars, advanced here before the update.
int adv_fused_adam(at::Tensor **params, at::Tensor **grads, at::Tensor **exp_avg,
                   at::Tensor **exp_avg_sq, at::Tensor **steps, int n, double lr,
                   double beta1, double beta2, double eps, double weight_decay) {
  GUARD(1, {
    auto p = list(params, n), g = list(grads, n), m = list(exp_avg, n), v = list(exp_avg_sq, n),
         s = list(steps, n);
    std::vector<at::Tensor> none;
    at::_foreach_add_(s, 1);  // the kernel reads the step count but, as in PyTorch, does not advance it
    at::_fused_adam_(p, g, m, v, none, s, lr, beta1, beta2, weight_decay, eps,
                     /*amsgrad=*/false, /*maximize=*/false, std::nullopt, std::nullopt);
    return 0;
  })
}

// Drops the .grad of each tensor (PyTorch's zero_grad(set_to_none=True)): the next
// backward writes fresh gradients instead of zero-filling and accumulating.
int adv_grads_to_none(at::Tensor **params, int n) {
  GUARD(1, {
    for (int i = 0; i < n; i++) params[i]->mutable_grad().reset();
    return 0;
  })
}

// Enters an autocast region on `cuda` (else CPU) computing in bfloat16, as PyTorch's
// `torch.autocast(device, dtype=torch.bfloat16)` does on entry; returns the previous
// enabled flag for adv_autocast_exit. tch's own autocast covers CUDA float16 only.
int adv_autocast_enter(int cuda) {
  GUARD(-1, {
    auto dev = cuda ? at::kCUDA : at::kCPU;
    bool prev = at::autocast::is_autocast_enabled(dev);
    at::autocast::set_autocast_enabled(dev, true);
    at::autocast::set_autocast_dtype(dev, at::kBFloat16);
    at::autocast::increment_nesting();
    return prev ? 1 : 0;
  })
}

// Leaves the region: restores the flag and, leaving the outermost region, drops the cache
// of casted weights (they change at the next optimizer step).
int adv_autocast_exit(int cuda, int prev) {
  GUARD(1, {
    auto dev = cuda ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(dev, prev != 0);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    return 0;
  })
}

}  // extern "C"
