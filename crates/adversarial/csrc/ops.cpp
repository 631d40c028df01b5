// Native helpers for ATen operations that tch does not expose with the arguments we need.
// Each function returns null / non-zero on failure and leaves the message for
// adv_last_error(), so no C++ exception crosses into Rust.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/profiler_kineto.h>
#include <cstdlib>
#include <cstring>
#include <set>
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

// Whether a and b (same shape) put every element at the same offset: equal strides on
// every dimension longer than 1 (a dimension of size 1 has no meaningful stride).
static bool same_layout(const at::Tensor &a, const at::Tensor &b) {
  if (a.sizes() != b.sizes()) return false;
  for (int64_t d = 0; d < a.dim(); d++)
    if (a.size(d) > 1 && a.stride(d) != b.stride(d)) return false;
  return true;
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
    // the kernel walks each parameter's memory in order and assumes its gradient and
    // moments lie the same way; libtorch does not check it (a channels-last weight with a
    // contiguous moment would be updated with the wrong elements)
    for (int i = 0; i < n; i++) {
      TORCH_CHECK(same_layout(g[i], p[i]) && same_layout(m[i], p[i]) && same_layout(v[i], p[i]),
                  "fused Adam: parameter ", i, " of shape ", p[i].sizes(),
                  " and its gradient or moments differ in memory layout (strides ", p[i].strides(),
                  ", ", g[i].strides(), ", ", m[i].strides(), ", ", v[i].strides(), ")");
    }
    std::vector<at::Tensor> none;
    at::_foreach_add_(s, 1);  // the kernel reads the step count but, as in PyTorch, does not advance it
    at::_fused_adam_(p, g, m, v, none, s, lr, beta1, beta2, weight_decay, eps,
                     /*amsgrad=*/false, /*maximize=*/false, std::nullopt, std::nullopt);
    return 0;
  })
}

// x in channels-last memory format with its exact strides (N, C, H, W) = (HWC, 1, WC, C);
// x itself when it already has them, else a differentiable copy. contiguous(ChannelsLast)
// is not enough: when C or H·W is 1 both formats are "contiguous" and it keeps NCHW
// strides, and oneDNN then picks NCHW kernels, mixing layouts inside the network.
at::Tensor *adv_channels_last(at::Tensor *x) {
  GUARD(nullptr, {
    auto want = c10::get_channels_last_strides_2d(x->sizes());
    if (x->strides() == c10::IntArrayRef(want)) return new at::Tensor(*x);
    return new at::Tensor(x->clone(at::MemoryFormat::ChannelsLast));
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

// Starts libtorch's own operator profiler (the engine behind torch.profiler) on the CPU,
// recording each operator's input shapes.
int adv_profiler_start() {
  GUARD(1, {
    using namespace torch::profiler::impl;
    ProfilerConfig cfg(ProfilerState::KINETO, /*report_input_shapes=*/true);
    std::set<ActivityType> acts{ActivityType::CPU};
    torch::autograd::profiler::prepareProfiler(cfg, acts);
    torch::autograd::profiler::enableProfiler(cfg, acts);
    return 0;
  })
}

// Stops the profiler, writes a Chrome trace to `trace_path` when it is not null, and
// returns the events as malloc'ed text, one per line:
// name \t thread \t start ns \t end ns \t shapes ([a, b];[c];...).
char *adv_profiler_stop(const char *trace_path) {
  GUARD(nullptr, {
    auto res = torch::autograd::profiler::disableProfiler();
    if (trace_path) res->save(trace_path);
    std::string out;
    for (const auto &e : res->events()) {
      out += e.name();
      out += '\t' + std::to_string(e.startThreadId()) + '\t' + std::to_string(e.startNs()) +
             '\t' + std::to_string(e.endNs()) + '\t';
      if (e.hasShapes()) {
        bool first = true;
        for (const auto &shape : e.shapes()) {
          if (!first) out += ';';
          first = false;
          out += '[';
          for (size_t i = 0; i < shape.size(); i++) {
            if (i) out += ", ";
            out += std::to_string(shape[i]);
          }
          out += ']';
        }
      }
      out += '\n';
    }
    char *text = static_cast<char *>(std::malloc(out.size() + 1));
    if (!text) throw std::runtime_error("out of memory for the profile");
    std::memcpy(text, out.c_str(), out.size() + 1);
    return text;
  })
}

}  // extern "C"
